/*
 * The beginning of Xen 4.17's `struct payload` (xen/include/xen/livepatch_payload.h) and of
 * `struct livepatch_fstate` (xen/include/xen/livepatch.h) on x86-64, re-declared for the payloads
 * whose hooks must read or set a function's applied marker, as Xen's own action-hook tests do.
 * This is hypervisor-internal layout: correct for 4.17.x (4.17.3 and later, where the marker moved
 * to fstate) only. The parity scenarios using it are flagged `needsXenInternals`.
 */
#ifndef XLP_XEN417_PAYLOAD_H
#define XLP_XEN417_PAYLOAD_H

struct xlp_fstate_417 {
    unsigned int patch_offset;
    unsigned int applied;           /* enum livepatch_func_state: 0 NOT_APPLIED, 1 APPLIED */
    unsigned char insn_buffer[31];
};

struct xlp_payload_417 {
    unsigned int state;
    int rc;
    _Bool reverted;
    _Bool safe_to_reapply;
    void *list[2];
    const void *text_addr;
    unsigned long text_size;
    const void *rw_addr;
    unsigned long rw_size;
    const void *ro_addr;
    unsigned long ro_size;
    unsigned int pages;
    void *applied_list[2];
    const void *funcs;
    struct xlp_fstate_417 *fstate;
    unsigned int nfuncs;
};

_Static_assert(__builtin_offsetof(struct xlp_payload_417, fstate) == 112, "fstate at 112 on x86-64");
_Static_assert(__builtin_offsetof(struct xlp_payload_417, nfuncs) == 120, "nfuncs at 120 on x86-64");
_Static_assert(sizeof(struct xlp_fstate_417) == 40, "livepatch_fstate is 40 bytes");

#define XLP_FUNC_NOT_APPLIED 0
#define XLP_FUNC_APPLIED 1

static inline struct xlp_payload_417 *xlp_p(const struct payload *p)
{
    return (struct xlp_payload_417 *)p;
}

#endif
