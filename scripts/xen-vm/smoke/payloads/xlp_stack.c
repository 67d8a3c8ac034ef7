/* Hooks-only payload meant to be stacked on top of another one (its depends names it). */
#include "xlp-payload.h"

static void xlp_stack_load(void)
{
    printk("xlp-stack: load hook ran\n");
}

XLP_LOAD_HOOK(xlp_stack_load);
