/*
 * A fake libxenctrl for the native tests: the same xc_* entry points as the real library, over an
 * in-memory "hypervisor" (hypervisor.c) and a script that programs it (script.c). xenctrl.c models
 * libxenctrl's client side (argument checks, LIST paging with E2BIG halving and version retries)
 * closely enough that the addon's marshalling meets the same behaviour as on a real dom0.
 *
 * Built by test/native/support/fake-xenctrl.ts once per library generation, with
 * -DFAKE_XEN_MINOR=13|17|20|21: the library's own version, which decides its upload prototype, the
 * sysctl interface version it speaks and whether it passes LIST's buffer sizes to Xen. The build
 * also gives it the soname (libxenctrl.so.4.NN) and symbol versions (VERS_4.NN.0 up to 4.17,
 * libxenctrl_4.NN.0 from 4.18) of the real library. The fake hypervisor's version is separate
 * (the script's `version` line; by default the library's), so a library/hypervisor mismatch, as
 * after a tools upgrade without a reboot, can be played.
 *
 * The ABI below is written independently of native/xen_abi.h on purpose: the addon's header is
 * checked against Debian's xenctrl.h by the ABI test, and this one against the addon's behaviour.
 */
#ifndef FAKE_XENCTRL_H
#define FAKE_XENCTRL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef FAKE_XEN_MINOR
#error "build with -DFAKE_XEN_MINOR=<minor>"
#endif

#define FAKE_EXPORT __attribute__((visibility("default")))

/* XEN_SYSCTL_INTERFACE_VERSION by release: a sysctl from tools of another interface is EACCES. */
#define SYSCTL_INTERFACE_FOR(minor) \
  ((minor) >= 21 ? 0x16u : (minor) >= 17 ? 0x15u : (minor) == 16 ? 0x14u : (minor) >= 14 ? 0x13u : 0x12u)
#define LIB_SYSCTL_INTERFACE SYSCTL_INTERFACE_FOR(FAKE_XEN_MINOR)

/* xentoollog.h */
typedef struct xentoollog_logger xentoollog_logger;
struct xentoollog_logger {
  void (*vmessage)(xentoollog_logger *logger, int level, int errnoval, const char *context,
                   const char *format, va_list al);
  void (*progress)(xentoollog_logger *logger, const char *context, const char *doing_what,
                   int percent, unsigned long done, unsigned long total);
  void (*destroy)(xentoollog_logger *logger);
};
enum { XTL_DETAIL = 3, XTL_ERROR = 8 };

/* xen/sysctl.h, xen/version.h */
struct xen_livepatch_status {
  uint32_t state;
  int32_t rc;
};
struct xen_build_id {
  uint32_t len;
  unsigned char buf[];
};
#define NAME_SIZE 128
#define MAX_PAYLOAD_SIZE (2u * 1024 * 1024)
#define LIST_PAGE_MAX 1024
enum { STATE_CHECKED = 1, STATE_APPLIED = 2 };
enum { ACTION_UNLOAD = 1, ACTION_REVERT = 2, ACTION_APPLY = 3, ACTION_REPLACE = 4 };

/* ---- the fake hypervisor ---- */

struct payload {
  char name[NAME_SIZE];
  uint32_t state;
  int32_t rc;
  unsigned char *meta;
  uint32_t meta_len;
};

struct hypervisor {
  unsigned major, minor;
  char extra[16];
  unsigned char build_id[64];
  int build_id_len; /* -1: built without one (ENODATA) */
  struct payload *payloads;
  size_t count, cap;
  uint32_t version; /* bumped on upload and unload, as Xen's payload_version */
  unsigned preempt; /* entries per LIST page before "preemption"; 0 = never */
  char *ring;       /* console ring, size a power of two */
  uint32_t ring_size, ring_c, ring_p;
};

/* One LIST sysctl: IN and OUT fields as in xen_sysctl_livepatch_list. */
struct list_op {
  uint32_t version, idx, nr, name_total_size, metadata_total_size;
  struct xen_livepatch_status *status;
  char *name;
  uint32_t *len;
  char *metadata;
  uint32_t *metadata_len;
};

void hv_init(struct hypervisor *hv);
void hv_free(struct hypervisor *hv);
/* Each returns 0 or a negative errno, as the hypercall would. */
int hv_add(struct hypervisor *hv, const char *name, uint32_t state, int32_t rc,
           const unsigned char *meta, uint32_t meta_len);
/* `flags` is op.flags (op.pad before 4.19, where anything non-zero is EINVAL). */
int hv_upload(struct hypervisor *hv, const char *name, uint32_t size, uint32_t flags);
uint32_t hv_sysctl_interface(const struct hypervisor *hv);
int hv_unload(struct hypervisor *hv, const char *name);
int hv_get(struct hypervisor *hv, const char *name, struct xen_livepatch_status *status);
int hv_list(struct hypervisor *hv, struct list_op *op); /* >= 0: entries copied */
int hv_action(struct hypervisor *hv, const char *name, uint32_t cmd);
void hv_console_write(struct hypervisor *hv, const char *text, size_t n);
void hv_console_read(struct hypervisor *hv, char *buf, uint32_t max, bool incremental,
                     uint32_t index, uint32_t *count, uint32_t *index_out);
void hv_debug_key(struct hypervisor *hv, char key);
int hv_set_console_size(struct hypervisor *hv, uint32_t size);

/* ---- the handle and its script ---- */

struct failure {
  char call[16];
  int err;
  bool used;
};
struct delay {
  char call[16];
  unsigned ms;
};
struct trigger {
  bool after;
  char event[16];
  unsigned nth; /* 0: every time */
  unsigned seen;
  char *command; /* the rest of the script line */
};

/* A "lying" library: answers that no real libxenctrl gives, to prove the addon trusts nothing. */
struct lies {
  bool sizes; /* the size probe reports these instead of the truth */
  uint32_t nr, names, meta;
  bool lengths;  /* LIST pages report each name and metadata length as huge */
  bool done;     /* xc_livepatch_list reports more entries done than asked for */
  bool console;  /* xc_readconsolering reports more characters than the caller's buffer holds */
  bool build_id; /* XENVER_build_id reports a length beyond the caller's buffer */
};

struct xc_interface_core {
  xentoollog_logger *logger;
  struct hypervisor hv;
  int busy; /* set while a call runs: calls on one handle must not overlap */
  int trace_fd;
  int open_fail;
  bool open_fail_quiet;
  bool open_fail_noerrno; /* logs its complaint without an errno value */
  struct lies lie;
  unsigned auto_seq;
  struct failure *failures;
  size_t nfailures;
  struct delay *delays;
  size_t ndelays;
  struct trigger *triggers;
  size_t ntriggers;
};
typedef struct xc_interface_core xc_interface;

/* Reads the script named by $XLP_FAKE_XENCTRL_SCRIPT; 0, or -1 with a message in `error`. */
int script_load(xc_interface *xch, const char *path, char *error, size_t error_size);
void script_free(xc_interface *xch);
/* Runs one command line ("upload <name-hex> <meta-hex>", ...) against the hypervisor. */
int script_command(xc_interface *xch, const char *line, char *error, size_t error_size);
/* The next programmed errno for `call`, or 0. */
int script_take_failure(xc_interface *xch, const char *call);
unsigned script_delay_ms(xc_interface *xch, const char *call);
void script_event(xc_interface *xch, bool after, const char *event);

void fake_trace(xc_interface *xch, const char *format, ...) __attribute__((format(printf, 2, 3)));
void fake_log(xentoollog_logger *logger, int level, int errnoval, const char *context,
              const char *format, ...) __attribute__((format(printf, 5, 6)));
/* Lowercase hex of `n` bytes into `out` (2n+1 bytes). */
void to_hex(const void *data, size_t n, char *out);

#endif
