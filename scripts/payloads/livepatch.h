/*
 * Declarations a livepatch payload needs, written for this project's test and demo payloads.
 * The layouts are Xen's public ABI for x86_64 (payload version 2, Xen 4.14+), as documented in
 * docs/misc/livepatch.pandoc; nothing here is taken from Xen's headers.
 */
#ifndef XLP_PAYLOAD_LIVEPATCH_H
#define XLP_PAYLOAD_LIVEPATCH_H

/* Calls and data references into Xen must be PC-relative: Xen only relocates _64, PC32 and PLT32. */
#pragma GCC visibility push(hidden)

typedef unsigned char uint8_t;
typedef unsigned int uint32_t;
typedef unsigned long uint64_t;

#define XLP_PAYLOAD_VERSION 2
#define XLP_OPAQUE_SIZE 31

struct xlp_expectation {
    uint8_t enabled : 1;
    uint8_t len : 5;
    uint8_t rsv : 2;
    uint8_t data[XLP_OPAQUE_SIZE];
};

/* struct livepatch_func, 104 bytes. */
struct xlp_func {
    const char *name;
    void *new_addr;
    void *old_addr;
    uint32_t new_size;
    uint32_t old_size;
    uint8_t version;
    uint8_t pad[39];
    struct xlp_expectation expect;
};

_Static_assert(sizeof(struct xlp_func) == 104, "livepatch_func is 104 bytes on x86_64");

/* Hook signatures: the payload pointer is opaque to us. */
struct payload;
typedef void (*xlp_void_fn)(void);
typedef int (*xlp_vetoing_fn)(const struct payload *);
typedef void (*xlp_post_fn)(const struct payload *);
typedef int (*xlp_action_fn)(const struct payload *);

/*
 * Xen adds every named symbol of a payload (except the new functions) to its symbol table and
 * refuses a second payload defining the same name (EEXIST, "duplicate new symbol"). Define XLP_TAG
 * (e.g. -DXLP_TAG=_hello; the builder defaults it to "_<payload name>") to suffix the names these macros define, so that payloads built from the
 * same macros can be loaded together.
 */
#ifndef XLP_TAG
#define XLP_TAG
#endif
#define XLP_CAT2(a, b) a##b
#define XLP_CAT(a, b) XLP_CAT2(a, b)
#define XLP_NAME(base) XLP_CAT(base, XLP_TAG)

#define XLP_USED __attribute__((used))
#define XLP_SECTION(s) __attribute__((used, section(s)))
/*
 * A read-only allocated section. Under -fpic GCC marks any section holding relocated pointers
 * writable, and Xen will not apply a payload again after a revert when it has writable data besides
 * .livepatch.funcs. The flags are handed to the assembler here; GCC's own ("aw") land after the
 * '#', which comments them out.
 */
#define XLP_RO_SECTION(s) XLP_SECTION(s ",\"a\",@progbits #")

/* One entry of .livepatch.funcs. */
#define XLP_FUNC(var) const struct xlp_func var XLP_RO_SECTION(".livepatch.funcs")

/*
 * Array hooks, given as one list so their order in the section is the order written (separate
 * definitions in one section are laid out by the compiler, in reverse on GCC). At most one list
 * of each kind per translation unit.
 */
#define XLP_LOAD_HOOKS(...) static const xlp_void_fn XLP_NAME(xlp_load_hooks)[] XLP_RO_SECTION(".livepatch.hooks.load") = {__VA_ARGS__}
#define XLP_UNLOAD_HOOKS(...) static const xlp_void_fn XLP_NAME(xlp_unload_hooks)[] XLP_RO_SECTION(".livepatch.hooks.unload") = {__VA_ARGS__}

/* Single hooks: at most one of each per payload. */
#define XLP_PREAPPLY_HOOK(fn) static const xlp_vetoing_fn XLP_NAME(xlp_preapply) XLP_RO_SECTION(".livepatch.hooks.preapply") = fn
#define XLP_POSTAPPLY_HOOK(fn) static const xlp_post_fn XLP_NAME(xlp_postapply) XLP_RO_SECTION(".livepatch.hooks.postapply") = fn
#define XLP_PREREVERT_HOOK(fn) static const xlp_vetoing_fn XLP_NAME(xlp_prerevert) XLP_RO_SECTION(".livepatch.hooks.prerevert") = fn
#define XLP_POSTREVERT_HOOK(fn) static const xlp_post_fn XLP_NAME(xlp_postrevert) XLP_RO_SECTION(".livepatch.hooks.postrevert") = fn
#define XLP_APPLY_HOOK(fn) static const xlp_action_fn XLP_NAME(xlp_apply) XLP_RO_SECTION(".livepatch.hooks.apply") = fn
#define XLP_REVERT_HOOK(fn) static const xlp_action_fn XLP_NAME(xlp_revert) XLP_RO_SECTION(".livepatch.hooks.revert") = fn

/* .modinfo: NUL-separated key=value strings; the string literal supplies the final NUL. */
#define XLP_MODINFO(text) static const char XLP_NAME(xlp_modinfo)[] XLP_SECTION(".modinfo") = text

/* Xen functions payloads commonly call. */
extern int printk(const char *fmt, ...);

#endif
