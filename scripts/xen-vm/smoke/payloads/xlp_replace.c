/* Replacement payload (no hooks, so REPLACE is allowed): another xen_extra_version(). */
static const char *xlp_replace_extra_version(void)
{
    return XLP_EXTRA;
}

XLP_FUNC(xlp_replace_func) = {
    .name = "xen_extra_version",
    .new_addr = (void *)xlp_replace_extra_version,
    .old_addr = 0,
    .new_size = XLP_NEW_SIZE,
    .old_size = XLP_OLD_SIZE,
    .version = XLP_PAYLOAD_VERSION,
};
