/*
 * The revert action hook refuses (-22) without reverting; the post-revert hook then reverts
 * for real through the hypervisor's global revert_payload and revert_payload_tail.
 */
extern int revert_payload(const struct payload *payload);
extern void revert_payload_tail(const struct payload *payload);

static const char *xlp_norevert_extra_version(void)
{
    return XLP_EXTRA;
}

static int xlp_norevert_revert(const struct payload *payload)
{
    (void)payload;
    printk("xlp-norevert: revert action hook refuses with -22\n");
    return -22;
}

static void xlp_norevert_post_revert(const struct payload *payload)
{
    int rc = revert_payload(payload);

    printk("xlp-norevert: post-revert hook: revert_payload rc=%d\n", rc);
    if ( !rc )
        revert_payload_tail(payload);
}

XLP_REVERT_HOOK(xlp_norevert_revert);
XLP_POSTREVERT_HOOK(xlp_norevert_post_revert);

XLP_FUNC(xlp_norevert_func) = {
    .name = "xen_extra_version",
    .new_addr = (void *)xlp_norevert_extra_version,
    .old_addr = 0,
    .new_size = XLP_NEW_SIZE,
    .old_size = XLP_OLD_SIZE,
    .version = XLP_PAYLOAD_VERSION,
};
