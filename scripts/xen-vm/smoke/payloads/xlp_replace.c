/* Replacement payload (no hooks, so REPLACE is allowed): another xen_extra_version(). */
#include "xlp-payload.h"

static const char *xlp_replace_extra_version(void)
{
    return XLP_EXTRA;
}

static const struct xlp_func xlp_replace_func XLP_USED(".livepatch.funcs") = {
    .name = "xen_extra_version",
    .new_addr = xlp_replace_extra_version,
    .old_addr = 0,
    .new_size = XLP_NEW_SIZE,
    .old_size = XLP_OLD_SIZE,
    .version = 2,
};
