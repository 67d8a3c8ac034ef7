/*
 * xen_action_hooks_noapply: the apply action hook fails (-EINVAL) without patching anything, which
 * is consistent, so Xen goes on and runs post_apply with rc -22. (Xen's version also asserts the
 * markers; these hooks do not look inside struct payload, so they run on any Xen.)
 */
#include "parity.h"

static unsigned int apply_cnt;

static const char *xen_hello_world(void)
{
    return "Hello World";
}

static int pre_apply_hook(const struct payload *payload)
{
    (void)payload;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
    return 0;
}

static int apply_hook(const struct payload *payload)
{
    (void)payload;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    apply_cnt++;
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
    return -22; /* -EINVAL: the action failed, nothing was patched */
}

static void post_apply_hook(const struct payload *payload)
{
    (void)payload;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    XLP_BUG_ON(apply_cnt != 1);
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
}

static int pre_revert_hook(const struct payload *payload)
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
XLP_PREAPPLY_HOOK(pre_apply_hook);
XLP_POSTAPPLY_HOOK(post_apply_hook);
XLP_PREREVERT_HOOK(pre_revert_hook);
XLP_POSTREVERT_HOOK(post_revert_hook);

XLP_EXTRA_VERSION_PATCH(livepatch_xen_action_hooks_noapply, xen_hello_world);
