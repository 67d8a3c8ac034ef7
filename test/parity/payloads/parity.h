/*
 * Shared by the parity payloads: our own re-expressions of Xen's in-tree test payloads
 * (xen/test/livepatch), written against scripts/payloads/livepatch.h. They run on the mock and,
 * built for its build-id, on a real Xen 4.17 (the differential run).
 *
 * Sizes and addresses that depend on the hypervisor binary are parameters (-D...), with defaults
 * that suit the mock's parity identity:
 *   XLP_OLD_SIZE              old_size of the xen_extra_version patches (Xen needs >= 9 when the
 *                             function starts with ENDBR64, as IBT builds' functions do)
 *   XLP_MINOR_VERSION_ADDR    absolute address of xen_minor_version (the NOP payload)
 *   XLP_MINOR_VERSION_SZ      its size in bytes
 *   XLP_MINOR_VERSION_NOP_LEN bytes to NOP: all but its last instruction (default SZ - 1, a `ret`)
 *   XLP_EXPECT_BYTES          the first 8 bytes of xen_extra_version, as {0x.., ...}
 */
#ifndef XLP_PARITY_H
#define XLP_PARITY_H

#ifndef XLP_OLD_SIZE
#define XLP_OLD_SIZE 16
#endif
#define XLP_NEW_SIZE 16

/* Xen's printk level markers. */
#define KERN_DEBUG "<3>"

/* BUG_ON: the in-tree payloads use Xen's bug frames; a trap (ud2) crashes the hypervisor the same way. */
#define XLP_BUG_ON(cond) do { if (cond) __builtin_trap(); } while (0)

/*
 * A patch of xen_extra_version looked up by name (old_addr = 0), as xen_replace_world does; the
 * in-tree payloads use a relocation against the symbol instead, which resolves to the same address.
 */
#define XLP_EXTRA_VERSION_PATCH(var, fn)                               \
    static const char var##_fnc[] = "xen_extra_version";               \
    XLP_FUNC(var) = {                                                  \
        .name = var##_fnc,                                             \
        .new_addr = (void *)fn,                                        \
        .old_addr = 0,                                                 \
        .new_size = XLP_NEW_SIZE,                                      \
        .old_size = XLP_OLD_SIZE,                                      \
        .version = XLP_PAYLOAD_VERSION,                                \
    }

#endif
