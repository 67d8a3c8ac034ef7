/* A payload whose pre-apply hook vetoes the apply with -EINVAL (-22). */
#include "xlp-payload.h"

static int xlp_veto_pre_apply(void *payload)
{
    (void)payload;
    printk("xlp-veto: pre-apply hook vetoes with -22\n");
    return -22;
}

XLP_PREAPPLY_HOOK(xlp_veto_pre_apply);
