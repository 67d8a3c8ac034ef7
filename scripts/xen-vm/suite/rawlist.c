/*
 * xlp-rawlist: one raw XEN_SYSCTL_LIVEPATCH_LIST sysctl, for the parity suite's list-paging
 * scenario on the real hypervisor. libxenctrl's xc_livepatch_list pages and retries by itself and
 * hides E2BIG, the idx checks and the version counter, so this issues the sysctl directly through
 * libxencall (loaded with dlopen, as the addon loads libxenctrl) and prints what Xen answered:
 *
 *   xlp-rawlist INTERFACE_VERSION IDX NR
 *   -> {"rc":N,"errno":E,"version":V,"nr":R,"nameTotalSize":S,"metadataTotalSize":M,
 *       "entries":[{"state":1,"rc":0,"name":"...","metadata":"<hex>"}...]}
 *
 * The layouts are Xen's public ABI (xen/include/public/sysctl.h, interface 0x15 for 4.17), declared
 * here; nothing is taken from Xen's headers. Xen 4.17 trusts the caller's buffer sizes, so a probe
 * (nr = 0) first sizes the name and metadata buffers generously; it changes nothing in Xen.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HYPERVISOR_sysctl 35
#define SYSCTL_livepatch_op 27
#define LIVEPATCH_LIST 2
#define NAME_SIZE 128

struct lp_list {
    uint32_t version, idx, nr, pad, name_total_size, metadata_total_size;
    uint64_t status, name, len, metadata, metadata_len; /* guest handles */
};

struct sysctl {
    uint32_t cmd;
    uint32_t interface_version;
    union {
        struct {
            uint32_t cmd;
            uint32_t pad;
            union {
                struct lp_list list;
                uint8_t raw[64];
            } u;
        } livepatch;
        uint8_t pad[128];
    } u;
};

_Static_assert(sizeof(struct lp_list) == 64, "xen_sysctl_livepatch_list is 64 bytes");
_Static_assert(__builtin_offsetof(struct sysctl, u.livepatch.u.list) == 16, "list at offset 16");

struct status { uint32_t state; int32_t rc; };

typedef void *(*open_fn)(void *logger, unsigned flags);
typedef void *(*alloc_fn)(void *h, size_t size);
typedef int (*call1_fn)(void *h, unsigned op, uint64_t arg1);

static open_fn x_open;
static alloc_fn x_alloc;
static call1_fn x_call1;
static void *xh;

static int list(struct sysctl *s, uint32_t iface, uint32_t idx, uint32_t nr, void *st, void *nm, void *ln, void *md, void *ml)
{
    memset(s, 0, sizeof(*s));
    s->cmd = SYSCTL_livepatch_op;
    s->interface_version = iface;
    s->u.livepatch.cmd = LIVEPATCH_LIST;
    s->u.livepatch.u.list.idx = idx;
    s->u.livepatch.u.list.nr = nr;
    s->u.livepatch.u.list.status = (uintptr_t)st;
    s->u.livepatch.u.list.name = (uintptr_t)nm;
    s->u.livepatch.u.list.len = (uintptr_t)ln;
    s->u.livepatch.u.list.metadata = (uintptr_t)md;
    s->u.livepatch.u.list.metadata_len = (uintptr_t)ml;
    errno = 0;
    return x_call1(xh, HYPERVISOR_sysctl, (uintptr_t)s);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s INTERFACE_VERSION IDX NR\n", argv[0]);
        return 64;
    }
    uint32_t iface = strtoul(argv[1], NULL, 0), idx = strtoul(argv[2], NULL, 0), nr = strtoul(argv[3], NULL, 0);
    void *lib = dlopen("libxencall.so.1", RTLD_NOW);
    if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 69; }
    x_open = (open_fn)dlsym(lib, "xencall_open");
    x_alloc = (alloc_fn)dlsym(lib, "xencall_alloc_buffer");
    x_call1 = (call1_fn)dlsym(lib, "xencall1");
    if (!x_open || !x_alloc || !x_call1) { fprintf(stderr, "libxencall lacks a symbol\n"); return 69; }
    xh = x_open(NULL, 0);
    if (!xh) { perror("xencall_open"); return 69; }

    struct sysctl *s = x_alloc(xh, sizeof(*s));
    /* Probe: how much name and metadata there is in all. */
    if (list(s, iface, 0, 0, NULL, NULL, NULL, NULL, NULL) < 0) {
        printf("{\"probeErrno\":%d}\n", errno);
        return 0;
    }
    uint32_t cap = nr > 2048 ? 2048 : nr;
    size_t names = (size_t)(cap ? cap : 1) * NAME_SIZE, meta = s->u.livepatch.u.list.metadata_total_size + 4096;
    struct status *st = x_alloc(xh, (cap ? cap : 1) * sizeof(*st));
    char *nm = x_alloc(xh, names);
    uint32_t *ln = x_alloc(xh, (cap ? cap : 1) * sizeof(uint32_t));
    unsigned char *md = x_alloc(xh, meta);
    uint32_t *ml = x_alloc(xh, (cap ? cap : 1) * sizeof(uint32_t));
    if (!st || !nm || !ln || !md || !ml) { fprintf(stderr, "xencall_alloc_buffer failed\n"); return 70; }

    int rc = list(s, iface, idx, nr, st, nm, ln, md, ml);
    int err = rc < 0 ? errno : 0;
    struct lp_list *l = &s->u.livepatch.u.list;
    printf("{\"rc\":%d,\"errno\":%d,\"version\":%u,\"nr\":%u,\"nameTotalSize\":%u,\"metadataTotalSize\":%u,\"entries\":[",
           rc, err, l->version, l->nr, l->name_total_size, l->metadata_total_size);
    size_t noff = 0, moff = 0;
    for (int i = 0; rc > 0 && i < rc && (uint32_t)i < cap; i++) {
        printf("%s{\"state\":%u,\"rc\":%d,\"name\":\"", i ? "," : "", st[i].state, st[i].rc);
        for (uint32_t k = 0; k + 1 < ln[i] && noff + k < names; k++) {
            unsigned char c = (unsigned char)nm[noff + k];
            if (c == '"' || c == '\\') printf("\\%c", c);
            else if (c < 0x20 || c >= 0x7f) printf("\\u%04x", c);
            else putchar(c);
        }
        printf("\",\"metadata\":\"");
        for (uint32_t k = 0; k < ml[i] && moff + k < meta; k++) printf("%02x", md[moff + k]);
        printf("\"}");
        noff += ln[i];
        moff += ml[i];
    }
    printf("]}\n");
    return 0;
}
