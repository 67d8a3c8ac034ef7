/* xen_nop: NOPs all but the last instruction of xen_minor_version, at an absolute old_addr
 * (new_addr 0, no name). Built without .livepatch.xen_depends it is xen_no_xen_buildid. */
#include "parity.h"

#ifndef XLP_MINOR_VERSION_ADDR
#define XLP_MINOR_VERSION_ADDR 0xffff82d040200000UL
#endif
#ifndef XLP_MINOR_VERSION_SZ
#define XLP_MINOR_VERSION_SZ 12
#endif
/*
 * Bytes to NOP: everything before the function's last instruction. Xen's test assumes a one-byte
 * `ret`; a build with return thunks (Debian's 4.17) ends it with a 5-byte `jmp __x86_return_thunk`.
 */
#ifndef XLP_MINOR_VERSION_NOP_LEN
#define XLP_MINOR_VERSION_NOP_LEN (XLP_MINOR_VERSION_SZ - 1)
#endif

XLP_FUNC(livepatch_nop) = {
    .version = XLP_PAYLOAD_VERSION,
    .old_size = XLP_MINOR_VERSION_SZ,
    .old_addr = (void *)XLP_MINOR_VERSION_ADDR,
    .new_size = XLP_MINOR_VERSION_NOP_LEN,
};
