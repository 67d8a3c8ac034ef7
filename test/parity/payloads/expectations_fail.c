/* xen_expectations_fail: expects DE AD C0 DE BA BE at xen_extra_version: APPLY fails with EINVAL. */
#include "parity.h"

static const char *xen_hello_world(void)
{
    return "Hello World";
}

static const char livepatch_exceptions_fail_str[] = "xen_extra_version";

XLP_FUNC(livepatch_exceptions_fail) = {
    .version = XLP_PAYLOAD_VERSION,
    .name = livepatch_exceptions_fail_str,
    .new_addr = (void *)xen_hello_world,
    .old_addr = 0,
    .new_size = XLP_NEW_SIZE,
    .old_size = XLP_OLD_SIZE,
    .expect = { .enabled = 1, .len = 6, .data = { 0xde, 0xad, 0xc0, 0xde, 0xba, 0xbe } },
};
