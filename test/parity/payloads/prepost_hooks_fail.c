/* xen_prepost_hooks_fail: pre_apply returns -EINVAL; every other hook is unreachable and traps. */
#include "parity.h"

static const char *xen_hello_world(void)
{
    return "Hello World";
}

static int pre_apply_hook(const struct payload *payload)
{
    (void)payload;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
    return -22; /* -EINVAL */
}

static int unreachable_pre_hook(const struct payload *payload)
{
    (void)payload;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    __builtin_trap();
}

static void unreachable_post_hook(const struct payload *payload)
{
    (void)payload;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    __builtin_trap();
}

XLP_PREAPPLY_HOOK(pre_apply_hook);
XLP_POSTAPPLY_HOOK(unreachable_post_hook);
XLP_PREREVERT_HOOK(unreachable_pre_hook);
XLP_POSTREVERT_HOOK(unreachable_post_hook);

XLP_EXTRA_VERSION_PATCH(livepatch_xen_prepost_hooks_fail, xen_hello_world);
