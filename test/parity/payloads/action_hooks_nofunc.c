/* xen_action_hooks_nofunc: action hooks and post_revert, no .livepatch.funcs at all. */
#include "parity.h"

static int apply_hook(const struct payload *payload)
{
    (void)payload;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
    return 0;
}

static int revert_hook(const struct payload *payload)
{
    (void)payload;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
    return 0;
}

static void post_revert_hook(const struct payload *payload)
{
    (void)payload;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
}

XLP_APPLY_HOOK(apply_hook);
XLP_REVERT_HOOK(revert_hook);
XLP_POSTREVERT_HOOK(post_revert_hook);
