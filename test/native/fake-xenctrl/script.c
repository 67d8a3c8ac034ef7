/*
 * The script that programs a fake handle, read once by xc_interface_open from the file named by
 * $XLP_FAKE_XENCTRL_SCRIPT, or else from <library file>.script (each handle gets a fresh
 * hypervisor). One command per line; byte
 * strings (names, metadata, console text, paths) are lowercase hex, "-" for empty:
 *
 *   version <major> <minor>            what XENVER_version reports
 *   extra <hex>                        XENVER_extraversion
 *   build-id <hex> | build-id none     XENVER_build_id (none: ENODATA)
 *   payload <name> <state> <rc> <meta> a payload already loaded (state 1 CHECKED, 2 APPLIED)
 *   upload <name> <meta>               the same, CHECKED with rc 0 (bumps the list version)
 *   upload-auto                        a payload named auto-<n>
 *   unload <name>
 *   preempt <n>                        LIST returns at most n entries per sysctl
 *   console <hex>                      text written to the console ring
 *   console-size <n>                   ring size (a power of two)
 *   open-fail <errno> [quiet|noerrno]  xc_interface_open fails (quiet: without logging;
 *                                      noerrno: logging without the errno value)
 *   fail <call> <errno>                the next <call> fails with errno (queued, in order;
 *                                      also usable in a trigger)
 *   delay <call> <ms>                  every <call> first sleeps (also: open, close)
 *   lie sizes <nr> <names> <meta>      the size probe reports these numbers
 *   lie lengths|done|console|build-id  answers no real library gives (see struct lies)
 *   trace <path>                       append one line per call to this file
 *   before|after <event> <n|*> <cmd>   run <cmd> (upload/unload/...) around the n-th (or every)
 *                                      <event>
 *
 * Calls and events: version upload get list-probe list-batch action readconsole debugkeys.
 * list-probe is a LIST sysctl asking only for sizes (xc_livepatch_list_get_sizes); list-batch
 * one page of xc_livepatch_list's walk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake.h"

static const char *skip_space(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  return s;
}

/* Copies the next whitespace-separated token; false at the end of the line. */
static bool token(const char **cursor, char *out, size_t size) {
  const char *s = skip_space(*cursor);
  size_t n = 0;
  if (!*s) return false;
  while (*s && *s != ' ' && *s != '\t') {
    if (n + 1 < size) out[n++] = *s;
    s++;
  }
  out[n] = '\0';
  *cursor = s;
  return true;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decodes hex ("-" = empty) into a malloc'ed buffer with a NUL after the bytes. */
static bool unhex(const char *hex, unsigned char **out, size_t *n) {
  if (strcmp(hex, "-") == 0) hex = "";
  size_t len = strlen(hex);
  if (len % 2) return false;
  unsigned char *buf = malloc(len / 2 + 1);
  if (!buf) return false;
  for (size_t i = 0; i < len / 2; i++) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      free(buf);
      return false;
    }
    buf[i] = (unsigned char)(hi * 16 + lo);
  }
  buf[len / 2] = '\0';
  *out = buf;
  *n = len / 2;
  return true;
}

/* A hex token decoded as a C string without embedded NULs. */
static bool unhex_string(const char *hex, char **out) {
  unsigned char *buf;
  size_t n;
  if (!unhex(hex, &buf, &n)) return false;
  if (strlen((char *)buf) != n) {
    free(buf);
    return false;
  }
  *out = (char *)buf;
  return true;
}

static bool number(const char *s, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 0);
  if (errno || end == s || *end) return false;
  *out = v;
  return true;
}

static bool known_call(const char *call) {
  static const char *const calls[] = {"version",    "upload", "get",         "list-probe",
                                      "list-batch", "action", "readconsole", "debugkeys"};
  for (size_t i = 0; i < sizeof calls / sizeof *calls; i++) {
    if (strcmp(call, calls[i]) == 0) return true;
  }
  return false;
}

/* Delays can also hold up opening and closing the interface. */
static bool known_delay(const char *call) {
  return known_call(call) || strcmp(call, "open") == 0 || strcmp(call, "close") == 0;
}

#define FAIL(...)                            \
  do {                                       \
    snprintf(error, error_size, __VA_ARGS__); \
    goto out;                                \
  } while (0)

int script_command(xc_interface *xch, const char *line, char *error, size_t error_size) {
  /* Tokens are never longer than the line; metadata hex can be hundreds of kilobytes. */
  const size_t cap = strlen(line) + 1;
  char op[32], c[64];
  char *a = malloc(cap), *b = malloc(cap), *d = malloc(cap);
  char *name = NULL;
  unsigned char *bytes = NULL;
  size_t n = 0;
  int rc = -1;
  const char *cur = line;
  if (!a || !b || !d) FAIL("out of memory");
  if (!token(&cur, op, sizeof op)) FAIL("empty command");

  if (strcmp(op, "upload") == 0 || strcmp(op, "payload") == 0) {
    long state = STATE_CHECKED, prc = 0;
    bool full = strcmp(op, "payload") == 0;
    if (!token(&cur, a, cap) || !unhex_string(a, &name)) FAIL("%s: bad name", op);
    if (full && (!token(&cur, c, sizeof c) || !number(c, &state) || !token(&cur, c, sizeof c) ||
                 !number(c, &prc))) {
      FAIL("payload: bad state or rc");
    }
    if (!token(&cur, d, cap) || !unhex(d, &bytes, &n)) FAIL("%s: bad metadata", op);
    int e = hv_add(&xch->hv, name, (uint32_t)state, (int32_t)prc, bytes, (uint32_t)n);
    if (e) FAIL("%s: %s", op, strerror(-e));
  } else if (strcmp(op, "upload-auto") == 0) {
    char auto_name[32];
    snprintf(auto_name, sizeof auto_name, "auto-%u", ++xch->auto_seq);
    int e = hv_add(&xch->hv, auto_name, STATE_CHECKED, 0, NULL, 0);
    if (e) FAIL("upload-auto: %s", strerror(-e));
  } else if (strcmp(op, "unload") == 0) {
    if (!token(&cur, a, cap) || !unhex_string(a, &name)) FAIL("unload: bad name");
    int e = hv_unload(&xch->hv, name);
    if (e) FAIL("unload: %s", strerror(-e));
  } else if (strcmp(op, "console") == 0) {
    if (!token(&cur, d, cap) || !unhex(d, &bytes, &n)) FAIL("console: bad text");
    hv_console_write(&xch->hv, (char *)bytes, n);
  } else if (strcmp(op, "fail") == 0) {
    long err;
    if (!token(&cur, a, 16) || !known_call(a) || !token(&cur, c, sizeof c) || !number(c, &err) ||
        err <= 0) {
      FAIL("fail: want <call> <errno>");
    }
    struct failure *f = realloc(xch->failures, (xch->nfailures + 1) * sizeof *f);
    if (!f) FAIL("out of memory");
    xch->failures = f;
    f = &f[xch->nfailures++];
    memset(f, 0, sizeof *f);
    strcpy(f->call, a);
    f->err = (int)err;
  } else {
    FAIL("unknown command '%s'", op);
  }
  if (token(&cur, b, cap)) FAIL("%s: unexpected '%s'", op, b);
  rc = 0;
out:
  free(a);
  free(b);
  free(d);
  free(name);
  free(bytes);
  return rc;
}


static int directive(xc_interface *xch, const char *line, char *error, size_t error_size) {
  const size_t cap = strlen(line) + 1;
  char op[32], b[64];
  char *a = malloc(cap);
  long v1, v2;
  unsigned char *bytes = NULL;
  size_t n;
  int rc = -1;
  const char *cur = line;
  if (!a) FAIL("out of memory");
  if (!token(&cur, op, sizeof op)) {
    rc = 0;
    goto out;
  }

  if (strcmp(op, "version") == 0) {
    if (!token(&cur, a, cap) || !number(a, &v1) || !token(&cur, b, sizeof b) ||
        !number(b, &v2)) {
      FAIL("version: want <major> <minor>");
    }
    xch->hv.major = (unsigned)v1;
    xch->hv.minor = (unsigned)v2;
  } else if (strcmp(op, "extra") == 0) {
    if (!token(&cur, a, cap) || !unhex(a, &bytes, &n) || n > sizeof xch->hv.extra) {
      FAIL("extra: want up to 16 bytes of hex");
    }
    memset(xch->hv.extra, 0, sizeof xch->hv.extra);
    memcpy(xch->hv.extra, bytes, n);
  } else if (strcmp(op, "build-id") == 0) {
    if (!token(&cur, a, cap)) FAIL("build-id: want hex or none");
    if (strcmp(a, "none") == 0) {
      xch->hv.build_id_len = -1;
    } else {
      if (!unhex(a, &bytes, &n) || n > sizeof xch->hv.build_id) FAIL("build-id: bad hex");
      memcpy(xch->hv.build_id, bytes, n);
      xch->hv.build_id_len = (int)n;
    }
  } else if (strcmp(op, "preempt") == 0) {
    if (!token(&cur, a, cap) || !number(a, &v1) || v1 < 0) FAIL("preempt: want a count");
    xch->hv.preempt = (unsigned)v1;
  } else if (strcmp(op, "console-size") == 0) {
    if (!token(&cur, a, cap) || !number(a, &v1) || hv_set_console_size(&xch->hv, (uint32_t)v1)) {
      FAIL("console-size: want a power of two >= 16");
    }
  } else if (strcmp(op, "open-fail") == 0) {
    if (!token(&cur, a, cap) || !number(a, &v1) || v1 <= 0) FAIL("open-fail: want an errno");
    xch->open_fail = (int)v1;
    if (token(&cur, b, sizeof b)) {
      if (strcmp(b, "quiet") == 0) {
        xch->open_fail_quiet = true;
      } else if (strcmp(b, "noerrno") == 0) {
        xch->open_fail_noerrno = true;
      } else {
        FAIL("open-fail: unexpected '%s'", b);
      }
    }
  } else if (strcmp(op, "lie") == 0) {
    if (!token(&cur, b, sizeof b)) FAIL("lie: want what to lie about");
    if (strcmp(b, "sizes") == 0) {
      long nr, names, meta;
      char x[32], y[32], z[32];
      if (!token(&cur, x, sizeof x) || !number(x, &nr) || !token(&cur, y, sizeof y) ||
          !number(y, &names) || !token(&cur, z, sizeof z) || !number(z, &meta) || nr < 0 ||
          names < 0 || meta < 0 || nr > 0xffffffffL || names > 0xffffffffL || meta > 0xffffffffL) {
        FAIL("lie sizes: want <nr> <names> <meta>");
      }
      xch->lie.sizes = true;
      xch->lie.nr = (uint32_t)nr;
      xch->lie.names = (uint32_t)names;
      xch->lie.meta = (uint32_t)meta;
    } else if (strcmp(b, "lengths") == 0) {
      xch->lie.lengths = true;
    } else if (strcmp(b, "done") == 0) {
      xch->lie.done = true;
    } else if (strcmp(b, "console") == 0) {
      xch->lie.console = true;
    } else if (strcmp(b, "build-id") == 0) {
      xch->lie.build_id = true;
    } else {
      FAIL("lie: unknown lie '%s'", b);
    }
  } else if (strcmp(op, "delay") == 0) {
    if (!token(&cur, a, 16) || !known_delay(a) || !token(&cur, b, sizeof b) || !number(b, &v1) ||
        v1 <= 0) {
      FAIL("delay: want <call> <ms>");
    }
    struct delay *d = realloc(xch->delays, (xch->ndelays + 1) * sizeof *d);
    if (!d) FAIL("out of memory");
    xch->delays = d;
    d = &d[xch->ndelays++];
    strcpy(d->call, a);
    d->ms = (unsigned)v1;
  } else if (strcmp(op, "trace") == 0) {
    if (!token(&cur, a, cap) || !unhex(a, &bytes, &n)) FAIL("trace: want a hex path");
    if (xch->trace_fd >= 0) close(xch->trace_fd);
    xch->trace_fd = open((char *)bytes, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (xch->trace_fd < 0) FAIL("trace: %s", strerror(errno));
  } else if (strcmp(op, "before") == 0 || strcmp(op, "after") == 0) {
    struct trigger t = {.after = op[0] == 'a'};
    if (!token(&cur, t.event, sizeof t.event) || !known_call(t.event)) FAIL("%s: bad event", op);
    if (!token(&cur, a, cap)) FAIL("%s: want a count", op);
    if (strcmp(a, "*") != 0 && (!number(a, &v1) || v1 <= 0)) FAIL("%s: bad count '%s'", op, a);
    t.nth = strcmp(a, "*") == 0 ? 0 : (unsigned)v1;
    t.command = strdup(skip_space(cur));
    if (!t.command || !*t.command) {
      free(t.command);
      FAIL("%s: want a command", op);
    }
    cur += strlen(cur); /* the command is the rest of the line */
    struct trigger *all = realloc(xch->triggers, (xch->ntriggers + 1) * sizeof *all);
    if (!all) {
      free(t.command);
      FAIL("out of memory");
    }
    xch->triggers = all;
    all[xch->ntriggers++] = t;
  } else {
    rc = script_command(xch, line, error, error_size);
    goto out;
  }
  if (token(&cur, a, cap)) FAIL("%s: unexpected '%s'", op, a);
  rc = 0;
out:
  free(a);
  free(bytes);
  return rc;
}

int script_load(xc_interface *xch, const char *path, char *error, size_t error_size) {
  FILE *f = fopen(path, "re");
  if (!f) {
    snprintf(error, error_size, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  unsigned lineno = 0;
  int rc = 0;
  while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    const char *s = skip_space(line);
    if (!*s || *s == '#') continue;
    char why[200];
    if (directive(xch, s, why, sizeof why)) {
      snprintf(error, error_size, "%s:%u: %s", path, lineno, why);
      rc = -1;
    }
  }
  free(line);
  fclose(f);
  return rc;
}

void script_free(xc_interface *xch) {
  for (size_t i = 0; i < xch->ntriggers; i++) free(xch->triggers[i].command);
  free(xch->triggers);
  free(xch->failures);
  free(xch->delays);
  if (xch->trace_fd >= 0) close(xch->trace_fd);
}

int script_take_failure(xc_interface *xch, const char *call) {
  for (size_t i = 0; i < xch->nfailures; i++) {
    struct failure *f = &xch->failures[i];
    if (!f->used && strcmp(f->call, call) == 0) {
      f->used = true;
      return f->err;
    }
  }
  return 0;
}

unsigned script_delay_ms(xc_interface *xch, const char *call) {
  for (size_t i = 0; i < xch->ndelays; i++) {
    if (strcmp(xch->delays[i].call, call) == 0) return xch->delays[i].ms;
  }
  return 0;
}

void script_event(xc_interface *xch, bool after, const char *event) {
  for (size_t i = 0; i < xch->ntriggers; i++) {
    struct trigger *t = &xch->triggers[i];
    if (t->after != after || strcmp(t->event, event) != 0) continue;
    t->seen++;
    if (t->nth && t->seen != t->nth) continue;
    char why[200];
    if (script_command(xch, t->command, why, sizeof why)) {
      fake_log(xch->logger, XTL_ERROR, -1, "fake", "trigger '%s' failed: %s", t->command, why);
      fake_trace(xch, "trigger-failed %s", why);
    } else {
      fake_trace(xch, "trigger %s %s %u: %s", after ? "after" : "before", event, t->seen,
                 t->command);
    }
  }
}
