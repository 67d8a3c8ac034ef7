/*
 * The exported xc_* functions: libxenctrl's client side as the addon meets it. Argument checks,
 * return conventions (-1 and errno; xc_version's direct negative errno for an unknown command),
 * and xc_livepatch_list's walk are modelled on the real library; the sysctls go to hypervisor.c.
 *
 * Calls on one handle must not overlap (the addon serializes them): an overlapping call fails
 * with EDEADLK and logs why, so a broken serialization shows up as a test failure.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake.h"

void to_hex(const void *data, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

void fake_trace(xc_interface *xch, const char *format, ...) {
  if (xch->trace_fd < 0) return;
  char line[1024];
  va_list ap;
  va_start(ap, format);
  int n = vsnprintf(line, sizeof line - 1, format, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  ssize_t ignored = write(xch->trace_fd, line, (size_t)n);
  (void)ignored;
}

/* Like libxenctrl: through the caller's logger, or straight to stderr without one. */
void fake_log(xentoollog_logger *logger, int level, int errnoval, const char *context,
              const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  if (logger) {
    logger->vmessage(logger, level, errnoval, context, format, ap);
  } else {
    fprintf(stderr, "%s: %s: ", context, level >= XTL_ERROR ? "error" : "detail");
    vfprintf(stderr, format, ap);
    if (errnoval >= 0) fprintf(stderr, ": %s", strerror(errnoval));
    fputc('\n', stderr);
  }
  va_end(ap);
}

static void sleep_ms(unsigned ms);

static int enter(xc_interface *xch, const char *call) {
  if (__atomic_exchange_n(&xch->busy, 1, __ATOMIC_ACQ_REL)) {
    fake_log(xch->logger, XTL_ERROR, EDEADLK, "fake", "%s overlapped another call on the handle",
             call);
    fake_trace(xch, "overlap %s", call);
    errno = EDEADLK;
    return -1;
  }
  unsigned ms = script_delay_ms(xch, call);
  if (ms) sleep_ms(ms);
  return 0;
}

static int leave(xc_interface *xch, int rc) {
  int saved = errno;
  __atomic_store_n(&xch->busy, 0, __ATOMIC_RELEASE);
  errno = saved;
  return rc;
}

/* A sysctl's result as libxenctrl's do_sysctl gives it: -1 with errno, or the value. A
 * programmed failure replaces the hypervisor's answer. */
static int sysctl_result(xc_interface *xch, int rc) {
  if (rc >= 0) return rc;
  if (-rc == EACCES) {
    fake_log(xch->logger, XTL_DETAIL, -1, "fake-xc",
             "sysctl refused: the tool stack may not match the hypervisor");
  }
  errno = -rc;
  return -1;
}

static int injected(xc_interface *xch, const char *call) {
  int err = script_take_failure(xch, call);
  return err ? -err : 0;
}

/* A sysctl's fate before the hypervisor looks at it: a programmed failure, else Xen's do_sysctl
 * refusing tools built for another interface version (4.20 tools on 4.21 Xen, or the reverse). */
static int sysctl_gate(xc_interface *xch, const char *call) {
  int rc = injected(xch, call);
  if (!rc && hv_sysctl_interface(&xch->hv) != LIB_SYSCTL_INTERFACE) rc = -EACCES;
  return rc;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static bool name_ok(const char *name) { return name && strlen(name) + 1 <= NAME_SIZE; }

FAKE_EXPORT xc_interface *xc_interface_open(xentoollog_logger *logger,
                                            xentoollog_logger *dombuild_logger,
                                            unsigned open_flags) {
  (void)dombuild_logger;
  xc_interface *xch = calloc(1, sizeof *xch);
  if (!xch) return NULL;
  xch->logger = logger;
  xch->trace_fd = -1;
  hv_init(&xch->hv);
  const char *script = getenv("XLP_FAKE_XENCTRL_SCRIPT");
  /* Without the variable: a script beside the library file (<library>.script), so that copies of
   * the library in one process can each play their own hypervisor. */
  char beside[4096];
  Dl_info self;
  if ((!script || !*script) && dladdr((void *)xc_interface_open, &self) && self.dli_fname &&
      (size_t)snprintf(beside, sizeof beside, "%s.script", self.dli_fname) < sizeof beside &&
      access(beside, R_OK) == 0) {
    script = beside;
  }
  char error[512];
  if (script && *script && script_load(xch, script, error, sizeof error)) {
    fake_log(logger, XTL_ERROR, -1, "fake", "bad script: %s", error);
    script_free(xch);
    hv_free(&xch->hv);
    free(xch);
    errno = EINVAL;
    return NULL;
  }
  fake_trace(xch, "open flags=%u", open_flags);
  unsigned ms = script_delay_ms(xch, "open");
  if (ms) sleep_ms(ms);
  if (xch->open_fail) {
    int err = xch->open_fail;
    if (!xch->open_fail_quiet) {
      fake_log(logger, XTL_ERROR, xch->open_fail_noerrno ? -1 : err, "fake-xencall",
               "cannot open the privileged command interface");
    }
    script_free(xch);
    hv_free(&xch->hv);
    free(xch);
    errno = err;
    return NULL;
  }
  return xch;
}

FAKE_EXPORT int xc_interface_close(xc_interface *xch) {
  if (!xch) return 0;
  unsigned ms = script_delay_ms(xch, "close");
  if (ms) sleep_ms(ms);
  fake_trace(xch, "close");
  script_free(xch);
  hv_free(&xch->hv);
  free(xch);
  return 0;
}

FAKE_EXPORT int xc_version(xc_interface *xch, int cmd, void *arg) {
  if (enter(xch, "version")) return -1;
  fake_trace(xch, "version cmd=%d", cmd);
  struct hypervisor *hv = &xch->hv;
  script_event(xch, false, "version");
  int rc = injected(xch, "version");
  switch (rc ? -1 : cmd) {
    case -1:
      break;
    case 0:
      rc = (int)((hv->major << 16) | hv->minor);
      break;
    case 1:
      memcpy(arg, hv->extra, sizeof hv->extra);
      break;
    case 10: {
      struct xen_build_id *id = arg;
      if (id->len == 0) {
        rc = -EINVAL;
      } else if (hv->build_id_len < 0) {
        rc = -ENODATA;
      } else if (xch->lie.build_id) {
        rc = (int)id->len + 4096; /* claims more than the buffer, writes nothing */
      } else if ((uint32_t)hv->build_id_len > id->len) {
        rc = -ENOBUFS;
      } else {
        memcpy(id->buf, hv->build_id, (size_t)hv->build_id_len);
        rc = hv->build_id_len;
      }
      break;
    }
    default:
      return leave(xch, -EINVAL); /* libxenctrl's own check: no errno */
  }
  rc = sysctl_result(xch, rc);
  script_event(xch, true, "version");
  return leave(xch, rc);
}

static uint32_t fnv1a(const unsigned char *p, uint32_t n) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

/* `force` is -1 for the 4-argument prototype, which has no such parameter (op.pad is 0). */
static int upload(xc_interface *xch, char *name, unsigned char *payload, uint32_t size,
                  int force) {
  if (enter(xch, "upload")) return -1;
  if (!name_ok(name) || !payload) {
    errno = EINVAL;
    return leave(xch, -1);
  }
  char hex[2 * NAME_SIZE + 1];
  to_hex(name, strlen(name), hex);
  fake_trace(xch, "upload name=%s size=%u force=%d sum=%08x", hex, size, force,
             fnv1a(payload, size));
  script_event(xch, false, "upload");
  int rc = sysctl_gate(xch, "upload");
  if (!rc) rc = hv_upload(&xch->hv, name, size, force > 0 ? 1u : 0u);
  rc = sysctl_result(xch, rc);
  script_event(xch, true, "upload");
  return leave(xch, rc);
}

#if FAKE_XEN_MINOR >= 19
/* The force flag as libxenctrl 4.19+ passes it: any non-zero byte in the bool's register is
 * "true" to us, so an addon calling this with four arguments shows up as a stray force. */
FAKE_EXPORT int xc_livepatch_upload(xc_interface *xch, char *name, unsigned char *payload,
                                    uint32_t size, bool force) {
  return upload(xch, name, payload, size, force ? 1 : 0);
}
#else
FAKE_EXPORT int xc_livepatch_upload(xc_interface *xch, char *name, unsigned char *payload,
                                    uint32_t size) {
  return upload(xch, name, payload, size, -1);
}
#endif

FAKE_EXPORT int xc_livepatch_get(xc_interface *xch, char *name,
                                 struct xen_livepatch_status *status) {
  if (enter(xch, "get")) return -1;
  if (!name_ok(name)) {
    errno = EINVAL;
    return leave(xch, -1);
  }
  char hex[2 * NAME_SIZE + 1];
  to_hex(name, strlen(name), hex);
  fake_trace(xch, "get name=%s", hex);
  script_event(xch, false, "get");
  struct xen_livepatch_status s = {0, 0};
  int rc = 0;
  if (!rc) rc = sysctl_gate(xch, "get");
  if (!rc) rc = hv_get(&xch->hv, name, &s);
  *status = s; /* copied back even on failure, as libxenctrl does */
  rc = sysctl_result(xch, rc);
  script_event(xch, true, "get");
  return leave(xch, rc);
}

/* One LIST sysctl; `event` is list-probe (sizes only) or list-batch (a page). */
static int list_sysctl(xc_interface *xch, struct list_op *op) {
  const char *event = op->nr ? "list-batch" : "list-probe";
  const uint32_t idx = op->idx, nr = op->nr;
  script_event(xch, false, event);
  int rc = sysctl_gate(xch, event);
  if (!rc) rc = hv_list(&xch->hv, op);
  fake_trace(xch, "%s idx=%u nr=%u rc=%d version=%u left=%u names=%u meta=%u", event, idx, nr,
             rc, op->version, op->nr, op->name_total_size, op->metadata_total_size);
  rc = sysctl_result(xch, rc);
  script_event(xch, true, event);
  return rc;
}

#if FAKE_XEN_MINOR >= 14 /* 4.13's library has no size probe */
FAKE_EXPORT int xc_livepatch_list_get_sizes(xc_interface *xch, unsigned int *nr,
                                            uint32_t *name_total_size,
                                            uint32_t *metadata_total_size) {
  if (enter(xch, "list-probe")) return -1;
  if (!nr || !name_total_size || !metadata_total_size) {
    errno = EINVAL;
    return leave(xch, -1);
  }
  struct list_op op;
  memset(&op, 0, sizeof op);
  int rc = list_sysctl(xch, &op);
  if (rc) return leave(xch, rc);
  *nr = op.nr;
  *name_total_size = op.name_total_size;
  *metadata_total_size = op.metadata_total_size;
  if (xch->lie.sizes) {
    *nr = xch->lie.nr;
    *name_total_size = xch->lie.names;
    *metadata_total_size = xch->lie.meta;
  }
  return leave(xch, 0);
}
#endif

/* Bytes a page can make Xen write: before 4.21 all of its names and metadata, whatever the
 * caller's buffers; the list as a whole is the most one page can hold. */
static void hv_totals(const struct hypervisor *hv, size_t *names, size_t *meta) {
  *names = *meta = 0;
  for (size_t i = 0; i < hv->count; i++) {
    *names += strlen(hv->payloads[i].name) + 1;
    *meta += hv->payloads[i].meta_len;
  }
}

/*
 * libxenctrl's bounce-out of one buffer: `declared` bytes back into the caller's, or, after a
 * page that worked, as many as Xen says it wrote. The real library copies all of those, past the
 * caller's buffer when Xen wrote more than it was told there was room for (Xen before 4.21
 * ignores the sizes). The fake copies only what fits and records the overflow, which the tests
 * require never to happen.
 */
static void bounce_out(xc_interface *xch, const char *what, char *dst, const char *bounce,
                       uint32_t declared, uint32_t room) {
  if (declared > room) {
    fake_trace(xch, "overflow %s wrote=%u room=%u", what, declared, room);
    declared = room;
  }
  if (declared) memcpy(dst, bounce, declared);
}

/*
 * The walk as libxenctrl does it: pages of min(max - done, batch) entries; on E2BIG the batch
 * halves (giving up at 1); when the list version changes between pages it starts again with
 * done = 0, at most four times before EBUSY -- keeping the hypervisor index and its offsets into
 * the name and metadata buffers where they were (a quirk of the real library, kept on purpose);
 * it stops when `max` entries are done or Xen reports none left. Names and metadata go through
 * bounce buffers as in the real library: a page it retries (E2BIG, version change) copies the
 * whole declared size back, so beyond what Xen wrote the caller gets a recognisable filler.
 * From 4.21 the library tells Xen how much room is left (IN sizes); before, it sends zeros.
 */
FAKE_EXPORT int xc_livepatch_list(xc_interface *xch, const unsigned int max,
                                  const unsigned int start, struct xen_livepatch_status *info,
                                  char *name, uint32_t *len, const uint32_t name_total_size,
                                  char *metadata, uint32_t *metadata_len,
                                  const uint32_t metadata_total_size, unsigned int *done,
                                  unsigned int *left) {
  if (enter(xch, "list")) return -1;
  fake_trace(xch, "list max=%u start=%u names=%u meta=%u", max, start, name_total_size,
             metadata_total_size);
  if (!max || !info || !name || !len || !metadata || !metadata_len || !done || !left) {
    errno = EINVAL;
    return leave(xch, -1);
  }
  if (name_total_size == 0) {
    errno = ENOENT;
    return leave(xch, -1);
  }
  uint32_t batch = max, version = 0, restarts = 0, idx = start;
  uint32_t name_off = 0, meta_off = 0;
  uint32_t name_room = name_total_size, meta_room = metadata_total_size;
  int rc = 0;
  bool again;
  *done = 0;
  *left = 0;
  do {
    again = false;
    size_t held_names, held_meta;
    hv_totals(&xch->hv, &held_names, &held_meta);
    const size_t bn = held_names > name_room ? held_names : name_room;
    const size_t bm = held_meta > meta_room ? held_meta : meta_room;
    char *bname = malloc(bn + 1), *bmeta = malloc(bm + 1);
    if (!bname || !bmeta) {
      free(bname);
      free(bmeta);
      rc = -1;
      errno = ENOMEM;
      break;
    }
    memset(bname, 0xa5, bn);
    memset(bmeta, 0xa5, bm);
    struct list_op op;
    memset(&op, 0, sizeof op);
    op.idx = idx;
    op.nr = max - *done < batch ? max - *done : batch;
    op.name_total_size = FAKE_XEN_MINOR >= 21 ? name_room : 0;
    op.metadata_total_size = FAKE_XEN_MINOR >= 21 ? meta_room : 0;
    op.status = info + *done;
    op.name = bname;
    op.len = len + *done;
    op.metadata = bmeta;
    op.metadata_len = metadata_len + *done;
    const uint32_t asked = op.nr;
    rc = list_sysctl(xch, &op);
    const int err = errno;
    if (rc < 0 || op.version != (version ? version : op.version)) {
      /* A retried or failed page: the bounce buffers go back whole (info and lengths too). */
      memset(info + *done, 0xa5, asked * sizeof *info);
      memset(len + *done, 0xa5, asked * sizeof *len);
      memset(metadata_len + *done, 0xa5, asked * sizeof *metadata_len);
      bounce_out(xch, "names", name + name_off, bname, name_room, name_room);
      bounce_out(xch, "metadata", metadata + meta_off, bmeta, meta_room, meta_room);
    }
    errno = err;
    if (rc < 0 && errno == E2BIG) {
      free(bname);
      free(bmeta);
      if (batch <= 1) break;
      batch >>= 1;
      again = true;
      continue;
    }
    if (rc < 0) {
      free(bname);
      free(bmeta);
      break;
    }
    if (!version) version = op.version;
    if (op.version != version) {
      free(bname);
      free(bmeta);
      if (restarts++ > 3) {
        rc = -1;
        errno = EBUSY;
        break;
      }
      *done = 0;
      version = op.version;
      again = true;
      continue;
    }
    if ((uint32_t)rc > asked) {
      free(bname);
      free(bmeta);
      rc = -1;
      errno = EOVERFLOW;
      break;
    }
    *left = op.nr;
    bounce_out(xch, "names", name + name_off, bname, op.name_total_size, name_room);
    bounce_out(xch, "metadata", metadata + meta_off, bmeta, op.metadata_total_size, meta_room);
    free(bname);
    free(bmeta);
    if (xch->lie.lengths) {
      for (int i = 0; i < rc; i++) {
        len[*done + (unsigned)i] = 0xffffffffu;
        metadata_len[*done + (unsigned)i] = 0x7fffffffu;
      }
    }
    /* Past an overflow the real library's offsets would point beyond the buffers; stop there. */
    name_room = op.name_total_size > name_room ? 0 : name_room - op.name_total_size;
    name_off += op.name_total_size;
    meta_room = op.metadata_total_size > meta_room ? 0 : meta_room - op.metadata_total_size;
    meta_off += op.metadata_total_size;
    *done += (unsigned)rc;
    idx = *done;
  } while (again || (*done < max && *left != 0));
  if (rc >= 0 && xch->lie.done) *done += 1000;
  return leave(xch, rc > 0 ? 0 : rc);
}

static int action(xc_interface *xch, char *name, uint32_t cmd, uint32_t timeout,
                  uint32_t flags) {
  if (enter(xch, "action")) return -1;
  if (!name_ok(name)) {
    errno = EINVAL;
    return leave(xch, -1);
  }
  char hex[2 * NAME_SIZE + 1];
  to_hex(name, strlen(name), hex);
  fake_trace(xch, "action cmd=%u name=%s timeout=%u flags=%u", cmd, hex, timeout, flags);
  script_event(xch, false, "action");
  int rc = sysctl_gate(xch, "action");
  if (!rc) rc = hv_action(&xch->hv, name, cmd);
  rc = sysctl_result(xch, rc);
  script_event(xch, true, "action");
  return leave(xch, rc);
}

FAKE_EXPORT int xc_livepatch_apply(xc_interface *xch, char *name, uint32_t timeout,
                                   uint32_t flags) {
  return action(xch, name, ACTION_APPLY, timeout, flags);
}
FAKE_EXPORT int xc_livepatch_revert(xc_interface *xch, char *name, uint32_t timeout,
                                    uint32_t flags) {
  return action(xch, name, ACTION_REVERT, timeout, flags);
}
FAKE_EXPORT int xc_livepatch_unload(xc_interface *xch, char *name, uint32_t timeout,
                                    uint32_t flags) {
  return action(xch, name, ACTION_UNLOAD, timeout, flags);
}
FAKE_EXPORT int xc_livepatch_replace(xc_interface *xch, char *name, uint32_t timeout,
                                     uint32_t flags) {
  return action(xch, name, ACTION_REPLACE, timeout, flags);
}

FAKE_EXPORT int xc_readconsolering(xc_interface *xch, char *buffer, unsigned int *pnr_chars,
                                   int clear, int incremental, uint32_t *pindex) {
  if (enter(xch, "readconsole")) return -1;
  fake_trace(xch, "readconsole count=%u clear=%d incremental=%d index=%u", *pnr_chars, clear,
             incremental, pindex ? *pindex : 0);
  script_event(xch, false, "readconsole");
  const unsigned int asked = *pnr_chars;
  int rc = sysctl_gate(xch, "readconsole");
  if (!rc) {
    uint32_t count, index;
    hv_console_read(&xch->hv, buffer, *pnr_chars, pindex && incremental, pindex ? *pindex : 0,
                    &count, &index);
    if (clear) xch->hv.ring_c = xch->hv.ring_p;
    *pnr_chars = xch->lie.console ? asked + 4096 : count;
    if (pindex) *pindex = index;
  }
  rc = sysctl_result(xch, rc);
  script_event(xch, true, "readconsole");
  return leave(xch, rc);
}

FAKE_EXPORT int xc_send_debug_keys(xc_interface *xch, const char *keys) {
  if (enter(xch, "debugkeys")) return -1;
  size_t n = strlen(keys);
  char *hex = malloc(2 * n + 1);
  if (!hex) {
    errno = ENOMEM;
    return leave(xch, -1);
  }
  to_hex(keys, n, hex);
  fake_trace(xch, "debugkeys keys=%s", hex);
  free(hex);
  script_event(xch, false, "debugkeys");
  int rc = sysctl_gate(xch, "debugkeys");
  if (!rc) {
    for (size_t i = 0; i < n; i++) hv_debug_key(&xch->hv, keys[i]);
  }
  rc = sysctl_result(xch, rc);
  script_event(xch, true, "debugkeys");
  return leave(xch, rc);
}
