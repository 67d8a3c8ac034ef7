/*
 * The `xlp` end-to-end run's vetoed payload: its pre-apply hook refuses with -EINVAL, so
 * `xlp load` must exit 4, quote the hypervisor's console line and unload it again.
 * Built on top of the examples' `hello` (its .livepatch.depends is hello's build-id).
 */
static int veto_pre_apply(const struct payload *p)
{
    (void)p;
    printk("veto: pre-apply hook refuses with -22\n");
    return -22;
}

XLP_PREAPPLY_HOOK(veto_pre_apply);
XLP_MODINFO("PURPOSE=xlp-e2e-veto");
