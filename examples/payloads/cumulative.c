/*
 * A cumulative payload meant to REPLACE the whole stack: it depends on the hypervisor itself,
 * as REPLACE requires, and has no vetoing hooks. Its functions are a plain data-free patch, so
 * it may be applied again after a revert.
 */
static const char *cumulative_extra_version(void)
{
    return "-cumulative";
}

XLP_MODINFO("PURPOSE=demo-cumulative");

XLP_FUNC(cumulative_func) = {
    .version = XLP_PAYLOAD_VERSION,
    .name = "xen_extra_version",
    .new_addr = (void *)cumulative_extra_version,
    .old_addr = 0,
    .new_size = 16,
    .old_size = 16,
};
