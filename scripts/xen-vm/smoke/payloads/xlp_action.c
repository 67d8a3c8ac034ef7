/*
 * Action hooks without the hypervisor's struct layout: the apply/revert action hooks hand the
 * opaque payload pointer to the hypervisor's own apply_payload (a local symbol, named here by
 * its "file#name" form in the symbol table) and revert_payload (a global symbol).
 */
extern int xlp_hv_apply_payload(const struct payload *payload) __asm__("\"common/livepatch.c#apply_payload\"");
extern int revert_payload(const struct payload *payload);

static const char *xlp_action_extra_version(void)
{
    return XLP_EXTRA;
}

static int xlp_action_apply(const struct payload *payload)
{
    printk("xlp-action: apply action hook calls apply_payload\n");
    return xlp_hv_apply_payload(payload);
}

static int xlp_action_revert(const struct payload *payload)
{
    printk("xlp-action: revert action hook calls revert_payload\n");
    return revert_payload(payload);
}

XLP_APPLY_HOOK(xlp_action_apply);
XLP_REVERT_HOOK(xlp_action_revert);

XLP_FUNC(xlp_action_func) = {
    .name = "xen_extra_version",
    .new_addr = (void *)xlp_action_extra_version,
    .old_addr = 0,
    .new_size = XLP_NEW_SIZE,
    .old_size = XLP_OLD_SIZE,
    .version = XLP_PAYLOAD_VERSION,
};
