/*
 * xen_expectations: an expectation of the first 8 bytes of xen_extra_version (XLP_EXPECT_BYTES).
 * old_size is XLP_OLD_SIZE rather than Xen's 8: an IBT build's function starts with ENDBR64 and
 * then Xen wants old_size >= 9 for a jump patch.
 */
#include "parity.h"

#ifndef XLP_EXPECT_BYTES
#define XLP_EXPECT_BYTES { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x8d, 0x05, 0x00 }
#endif

static const char *xen_hello_world(void)
{
    return "Hello World";
}

static const char livepatch_exceptions_str[] = "xen_extra_version";

XLP_FUNC(livepatch_exceptions) = {
    .version = XLP_PAYLOAD_VERSION,
    .name = livepatch_exceptions_str,
    .new_addr = (void *)xen_hello_world,
    .old_addr = 0,
    .new_size = XLP_NEW_SIZE,
    .old_size = XLP_OLD_SIZE,
    .expect = { .enabled = 1, .len = 8, .data = XLP_EXPECT_BYTES },
};
