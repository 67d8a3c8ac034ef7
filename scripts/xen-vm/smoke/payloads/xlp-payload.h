/*
 * The few pieces of the public livepatch payload ABI (payload version 2, x86-64) that the
 * harness's smoke payloads use, written from the documented layout; no hypervisor headers.
 */
#ifndef XLP_PAYLOAD_H
#define XLP_PAYLOAD_H

#define XLP_USED(sec) __attribute__((section(sec), used))

/* One entry of .livepatch.funcs: 104 bytes. */
struct xlp_func {
    const char *name;        /* symbol to patch; resolved by the hypervisor when old_addr is 0 */
    const void *new_addr;    /* 0 means: overwrite new_size bytes at old_addr with NOPs */
    const void *old_addr;
    unsigned int new_size;
    unsigned int old_size;
    unsigned char version;   /* 2 */
    unsigned char pad[39];
    unsigned char expect;    /* bit 0: enabled, bits 1..5: length */
    unsigned char expect_data[31];
};
_Static_assert(sizeof(struct xlp_func) == 104, "livepatch_func is 104 bytes");

#define XLP_EXPECT(len) (unsigned char)(1u | ((len) << 1))

/* The hypervisor's hooks get an opaque pointer to its payload record. */
typedef int (*xlp_action_hook)(void *payload);
typedef void (*xlp_post_hook)(void *payload);
typedef void (*xlp_plain_hook)(void);

#define XLP_LOAD_HOOK(fn)      static const xlp_plain_hook xlp_lh_##fn XLP_USED(".livepatch.hooks.load") = fn
#define XLP_UNLOAD_HOOK(fn)    static const xlp_plain_hook xlp_uh_##fn XLP_USED(".livepatch.hooks.unload") = fn
#define XLP_PREAPPLY_HOOK(fn)  static const xlp_action_hook xlp_pa_##fn XLP_USED(".livepatch.hooks.preapply") = fn
#define XLP_APPLY_HOOK(fn)     static const xlp_action_hook xlp_ap_##fn XLP_USED(".livepatch.hooks.apply") = fn
#define XLP_REVERT_HOOK(fn)    static const xlp_action_hook xlp_rv_##fn XLP_USED(".livepatch.hooks.revert") = fn
#define XLP_POSTREVERT_HOOK(fn) static const xlp_post_hook xlp_pr_##fn XLP_USED(".livepatch.hooks.postrevert") = fn

/* Functions of the running hypervisor, resolved at upload from its symbol table. */
extern void printk(const char *fmt, ...);

#endif
