/*
 * xen_prepost_hooks: all four pre/post hooks. pre_revert fails the first time (-1, EPERM) and
 * succeeds the second; post_revert checks the counts. Xen's counts go per function; with one
 * function a count per call is the same and needs no look inside struct payload.
 */
#include "parity.h"

static unsigned int pre_apply_cnt;
static unsigned int post_apply_cnt;
static unsigned int pre_revert_cnt;
static unsigned int post_revert_cnt;
static unsigned int pre_revert_retry = 1;

static const char *xen_hello_world(void)
{
    return "Hello World";
}

static int pre_apply_hook(const struct payload *payload)
{
    (void)payload;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    pre_apply_cnt++;
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
    return 0;
}

static void post_apply_hook(const struct payload *payload)
{
    (void)payload;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    post_apply_cnt++;
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
}

static int pre_revert_hook(const struct payload *payload)
{
    (void)payload;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    pre_revert_cnt++;
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
    /* The first revert attempt fails, the second succeeds. */
    return -(int)(pre_revert_retry--);
}

static void post_revert_hook(const struct payload *payload)
{
    (void)payload;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    post_revert_cnt++;
    XLP_BUG_ON(pre_apply_cnt != 1 || post_apply_cnt != 1);
    XLP_BUG_ON(pre_revert_cnt != 2 || post_revert_cnt != 1);
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
}

XLP_PREAPPLY_HOOK(pre_apply_hook);
XLP_POSTAPPLY_HOOK(post_apply_hook);
XLP_PREREVERT_HOOK(pre_revert_hook);
XLP_POSTREVERT_HOOK(post_revert_hook);

XLP_EXTRA_VERSION_PATCH(livepatch_xen_prepost_hooks, xen_hello_world);
