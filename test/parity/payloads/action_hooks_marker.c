/*
 * xen_action_hooks_marker: pre/post apply/revert hooks assert the applied marker (not applied
 * before apply, applied after, ...). Reading it needs struct payload's 4.17 layout.
 */
#include "parity.h"
#include "xen417_payload.h"

static const char *xen_hello_world(void)
{
    return "Hello World";
}

static void check_all(const struct payload *payload, unsigned int want)
{
    struct xlp_payload_417 *p = xlp_p(payload);
    for (unsigned int i = 0; i < p->nfuncs; i++)
        XLP_BUG_ON(p->fstate[i].applied != want);
}

static int pre_apply_hook(const struct payload *payload)
{
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    check_all(payload, XLP_FUNC_NOT_APPLIED);
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
    return 0;
}

static void post_apply_hook(const struct payload *payload)
{
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    check_all(payload, XLP_FUNC_APPLIED);
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
}

static int pre_revert_hook(const struct payload *payload)
{
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    check_all(payload, XLP_FUNC_APPLIED);
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
    return 0;
}

static void post_revert_hook(const struct payload *payload)
{
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    check_all(payload, XLP_FUNC_NOT_APPLIED);
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
}

XLP_PREAPPLY_HOOK(pre_apply_hook);
XLP_POSTAPPLY_HOOK(post_apply_hook);
XLP_PREREVERT_HOOK(pre_revert_hook);
XLP_POSTREVERT_HOOK(post_revert_hook);

XLP_EXTRA_VERSION_PATCH(livepatch_xen_action_hooks_marker, xen_hello_world);
