/*
 * xen_action_hooks_norevert: the revert action hook fails (-EINVAL) without reverting (consistent:
 * still applied); post_revert then reverts for real with Xen's revert_payload() and
 * revert_payload_tail(), both exported by 4.17 for exactly this test. Final: CHECKED, rc -22.
 */
#include "parity.h"

struct payload;
extern int revert_payload(struct payload *data);
extern void revert_payload_tail(struct payload *data);

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

static void post_apply_hook(const struct payload *payload)
{
    (void)payload;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
}

static int pre_revert_hook(const struct payload *payload)
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
    return -22; /* -EINVAL: "mark action as inconsistent", Xen's comment says; it is consistent */
}

static void post_revert_hook(const struct payload *payload)
{
    unsigned long flags;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    __asm__ volatile("pushf; pop %0; cli" : "=r"(flags) : : "memory");
    XLP_BUG_ON(revert_payload((struct payload *)payload));
    revert_payload_tail((struct payload *)payload);
    __asm__ volatile("push %0; popf" : : "r"(flags) : "memory", "cc");
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
}

XLP_REVERT_HOOK(revert_hook);
XLP_PREAPPLY_HOOK(pre_apply_hook);
XLP_POSTAPPLY_HOOK(post_apply_hook);
XLP_PREREVERT_HOOK(pre_revert_hook);
XLP_POSTREVERT_HOOK(post_revert_hook);

XLP_EXTRA_VERSION_PATCH(livepatch_xen_action_hooks_norevert, xen_hello_world);
