/* Replaces xen_extra_version() only if its first bytes are XLP_EXPECT_BYTES. */
#include "xlp-payload.h"

static const char *xlp_expect_extra_version(void)
{
    return XLP_EXTRA;
}

static const struct xlp_func xlp_expect_func XLP_USED(".livepatch.funcs") = {
    .name = "xen_extra_version",
    .new_addr = xlp_expect_extra_version,
    .old_addr = 0,
    .new_size = XLP_NEW_SIZE,
    .old_size = XLP_OLD_SIZE,
    .version = 2,
    .expect = XLP_EXPECT(XLP_EXPECT_LEN),
    .expect_data = { XLP_EXPECT_BYTES },
};
