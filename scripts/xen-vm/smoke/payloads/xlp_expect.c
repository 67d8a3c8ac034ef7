/* Replaces xen_extra_version() only if its first bytes are XLP_EXPECT_BYTES. */
static const char *xlp_expect_extra_version(void)
{
    return XLP_EXTRA;
}

XLP_FUNC(xlp_expect_func) = {
    .name = "xen_extra_version",
    .new_addr = (void *)xlp_expect_extra_version,
    .old_addr = 0,
    .new_size = XLP_NEW_SIZE,
    .old_size = XLP_OLD_SIZE,
    .version = XLP_PAYLOAD_VERSION,
    .expect = { .enabled = 1, .len = XLP_EXPECT_LEN, .data = { XLP_EXPECT_BYTES } },
};
