/*
 * xen_action_hooks: apply/revert action hooks replace Xen's own patching; they only set the
 * functions' applied markers (as Xen's test does), which needs struct payload's 4.17 layout.
 * post_revert checks each action hook ran once.
 */
#include "parity.h"
#include "xen417_payload.h"

static unsigned int apply_cnt;
static unsigned int revert_cnt;

static const char *xen_hello_world(void)
{
    return "Hello World";
}

static int apply_hook(const struct payload *payload)
{
    struct xlp_payload_417 *p = xlp_p(payload);
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    for (unsigned int i = 0; i < p->nfuncs; i++) {
        p->fstate[i].applied = XLP_FUNC_APPLIED;
        apply_cnt++;
    }
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
    return 0;
}

static int revert_hook(const struct payload *payload)
{
    struct xlp_payload_417 *p = xlp_p(payload);
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    for (unsigned int i = 0; i < p->nfuncs; i++) {
        p->fstate[i].applied = XLP_FUNC_NOT_APPLIED;
        revert_cnt++;
    }
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
    return 0;
}

static void post_revert_hook(const struct payload *payload)
{
    (void)payload;
    printk(KERN_DEBUG "%s: Hook starting.\n", __func__);
    XLP_BUG_ON(apply_cnt != 1 || revert_cnt != 1);
    printk(KERN_DEBUG "%s: Hook done.\n", __func__);
}

XLP_APPLY_HOOK(apply_hook);
XLP_REVERT_HOOK(revert_hook);
XLP_POSTREVERT_HOOK(post_revert_hook);

XLP_EXTRA_VERSION_PATCH(livepatch_xen_action_hooks, xen_hello_world);
