/* A payload whose pre-apply hook vetoes the apply with -EINVAL (-22). */
static int xlp_veto_pre_apply(const struct payload *payload)
{
    (void)payload;
    printk("xlp-veto: pre-apply hook vetoes with -22\n");
    return -22;
}

XLP_PREAPPLY_HOOK(xlp_veto_pre_apply);
