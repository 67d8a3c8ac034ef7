/*
 * A payload with the four vetoing hooks of Xen 4.14+: the pre-apply hook may refuse the apply,
 * the post-apply hook follows up, and likewise for revert. Built on top of `hello`
 * (its .livepatch.depends is hello's build-id). Because of these hooks Xen refuses to REPLACE
 * it atomically: `xlp replace --sequential` reverts it with its hooks instead.
 */
static int guarded_pre_apply(const struct payload *p)
{
    (void)p;
    printk("guarded: pre-apply check passed\n");
    return 0;
}

static void guarded_post_apply(const struct payload *p)
{
    (void)p;
    printk("guarded: post-apply\n");
}

static int guarded_pre_revert(const struct payload *p)
{
    (void)p;
    return 0;
}

static void guarded_post_revert(const struct payload *p)
{
    (void)p;
    printk("guarded: post-revert\n");
}

XLP_PREAPPLY_HOOK(guarded_pre_apply);
XLP_POSTAPPLY_HOOK(guarded_post_apply);
XLP_PREREVERT_HOOK(guarded_pre_revert);
XLP_POSTREVERT_HOOK(guarded_post_revert);
XLP_MODINFO("PURPOSE=demo-vetoing-hooks");
