/*
 * The fake hypervisor's livepatch state and its sysctl semantics: the payload list in upload
 * order, a list version bumped on upload and unload, LIST paging (E2BIG above 1024 entries,
 * EINVAL past the end, ENOBUFS on 4.21+ when the caller's buffers are too small, "preemption"
 * after a programmed number of entries), and the console ring. What differs by release follows
 * the hypervisor's own version (hv->minor), not the library's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

void hv_init(struct hypervisor *hv) {
  memset(hv, 0, sizeof *hv);
  hv->major = 4;
  hv->minor = FAKE_XEN_MINOR;
  snprintf(hv->extra, sizeof hv->extra, ".0-fake");
  for (int i = 0; i < 20; i++) hv->build_id[i] = (unsigned char)(0xa0 + i);
  hv->build_id_len = 20;
  hv->version = 1;
  hv_set_console_size(hv, 16384);
}

void hv_free(struct hypervisor *hv) {
  for (size_t i = 0; i < hv->count; i++) free(hv->payloads[i].meta);
  free(hv->payloads);
  free(hv->ring);
  memset(hv, 0, sizeof *hv);
}

static struct payload *find(struct hypervisor *hv, const char *name) {
  for (size_t i = 0; i < hv->count; i++) {
    if (strcmp(hv->payloads[i].name, name) == 0) return &hv->payloads[i];
  }
  return NULL;
}

int hv_add(struct hypervisor *hv, const char *name, uint32_t state, int32_t rc,
           const unsigned char *meta, uint32_t meta_len) {
  if (strlen(name) + 1 > NAME_SIZE) return -EINVAL;
  if (find(hv, name)) return -EEXIST;
  if (hv->count == hv->cap) {
    size_t cap = hv->cap ? hv->cap * 2 : 16;
    struct payload *p = realloc(hv->payloads, cap * sizeof *p);
    if (!p) return -ENOMEM;
    hv->payloads = p;
    hv->cap = cap;
  }
  struct payload *p = &hv->payloads[hv->count];
  memset(p, 0, sizeof *p);
  strcpy(p->name, name);
  p->state = state;
  p->rc = rc;
  if (meta_len) {
    p->meta = malloc(meta_len);
    if (!p->meta) return -ENOMEM;
    memcpy(p->meta, meta, meta_len);
    p->meta_len = meta_len;
  }
  hv->count++;
  hv->version++;
  return 0;
}

uint32_t hv_sysctl_interface(const struct hypervisor *hv) {
  return hv->major == 4 ? SYSCTL_INTERFACE_FOR(hv->minor) : 0;
}

int hv_upload(struct hypervisor *hv, const char *name, uint32_t size, uint32_t flags) {
  /* Before 4.19 the word is `pad` and must be zero; from 4.19 FORCE is the one known flag. */
  if (hv->minor < 19 ? flags != 0 : (flags & ~1u) && !(flags & 1u)) return -EINVAL;
  if (size == 0 || size > MAX_PAYLOAD_SIZE) return -EINVAL;
  return hv_add(hv, name, STATE_CHECKED, 0, NULL, 0);
}

int hv_unload(struct hypervisor *hv, const char *name) {
  struct payload *p = find(hv, name);
  if (!p) return -ENOENT;
  if (p->state == STATE_APPLIED) return -EINVAL;
  free(p->meta);
  size_t i = (size_t)(p - hv->payloads);
  memmove(p, p + 1, (hv->count - i - 1) * sizeof *p);
  hv->count--;
  hv->version++;
  return 0;
}

int hv_get(struct hypervisor *hv, const char *name, struct xen_livepatch_status *status) {
  struct payload *p = find(hv, name);
  if (!p) return -ENOENT;
  status->state = p->state;
  status->rc = p->rc;
  return 0;
}

int hv_list(struct hypervisor *hv, struct list_op *op) {
  if (op->nr > LIST_PAGE_MAX) return -E2BIG;
  if (op->idx >= hv->count && hv->count) return -EINVAL;
  op->version = hv->version;
  if (op->nr == 0) {
    uint32_t names = 0, meta = 0;
    for (size_t i = 0; i < hv->count; i++) {
      names += (uint32_t)strlen(hv->payloads[i].name) + 1;
      meta += hv->payloads[i].meta_len;
    }
    op->name_total_size = names;
    op->metadata_total_size = meta;
    op->nr = (uint32_t)hv->count;
    return 0;
  }
  uint32_t copied = 0, names = 0, meta = 0;
  size_t i = op->idx;
  int rc = 0;
  while (i < hv->count) {
    const struct payload *p = &hv->payloads[i];
    uint32_t nl = (uint32_t)strlen(p->name) + 1;
    /* 4.21 checks the caller's buffer sizes; older Xen trusts them and writes regardless. */
    if (hv->minor >= 21 &&
        (names + nl > op->name_total_size || meta + p->meta_len > op->metadata_total_size)) {
      rc = -ENOBUFS;
      break;
    }
    memcpy(op->name + names, p->name, nl);
    if (p->meta_len) memcpy(op->metadata + meta, p->meta, p->meta_len);
    op->len[copied] = nl;
    op->metadata_len[copied] = p->meta_len;
    op->status[copied].state = p->state;
    op->status[copied].rc = p->rc;
    names += nl;
    meta += p->meta_len;
    copied++;
    i++;
    if (copied >= op->nr || (hv->preempt && copied >= hv->preempt)) break;
  }
  op->name_total_size = names;
  op->metadata_total_size = meta;
  op->nr = (uint32_t)(hv->count - i); /* entries left after this page */
  return rc ? rc : (int)copied;
}

int hv_action(struct hypervisor *hv, const char *name, uint32_t cmd) {
  struct payload *p = find(hv, name);
  if (!p) return -ENOENT;
  switch (cmd) {
    case ACTION_UNLOAD:
      return hv_unload(hv, name);
    case ACTION_APPLY:
      if (p->state == STATE_CHECKED) p->state = STATE_APPLIED;
      return 0;
    case ACTION_REVERT:
      if (p->state == STATE_APPLIED) p->state = STATE_CHECKED;
      return 0;
    case ACTION_REPLACE:
      if (p->state != STATE_CHECKED) return 0;
      for (size_t i = 0; i < hv->count; i++) {
        if (hv->payloads[i].state == STATE_APPLIED) hv->payloads[i].state = STATE_CHECKED;
      }
      p->state = STATE_APPLIED;
      return 0;
    default:
      return -EOPNOTSUPP;
  }
}

int hv_set_console_size(struct hypervisor *hv, uint32_t size) {
  if (size < 16 || (size & (size - 1))) return -EINVAL;
  char *ring = calloc(size, 1);
  if (!ring) return -ENOMEM;
  free(hv->ring);
  hv->ring = ring;
  hv->ring_size = size;
  hv->ring_c = hv->ring_p = 0;
  return 0;
}

/* The ring keeps the newest ring_size characters; ring_c and ring_p are free-running counters
 * of the oldest kept and the next written character. */
void hv_console_write(struct hypervisor *hv, const char *text, size_t n) {
  for (size_t i = 0; i < n; i++) {
    hv->ring[hv->ring_p & (hv->ring_size - 1)] = text[i];
    hv->ring_p++;
    if (hv->ring_p - hv->ring_c > hv->ring_size) hv->ring_c = hv->ring_p - hv->ring_size;
  }
}

/* Oldest first, at most `max` characters. An incremental read resumes at `index` if it still
 * points into the kept text (after its start, up to its end); otherwise it starts at the oldest. */
void hv_console_read(struct hypervisor *hv, char *buf, uint32_t max, bool incremental,
                     uint32_t index, uint32_t *count, uint32_t *index_out) {
  uint32_t c = hv->ring_c;
  const uint32_t p = hv->ring_p;
  if (incremental && index - c != 0 && index - c <= p - c) c = index;
  uint32_t n = 0;
  while (c != p && n < max) {
    buf[n++] = hv->ring[c & (hv->ring_size - 1)];
    c++;
  }
  *count = n;
  *index_out = c;
}

void hv_debug_key(struct hypervisor *hv, char key) {
  char line[256];
  if (key != 'x') {
    int n = snprintf(line, sizeof line, "(XEN) fake: key '%c' pressed\n", key);
    hv_console_write(hv, line, (size_t)n);
    return;
  }
  int n = snprintf(line, sizeof line, "(XEN) fake: livepatch payloads (%zu)\n", hv->count);
  hv_console_write(hv, line, (size_t)n);
  for (size_t i = 0; i < hv->count; i++) {
    const struct payload *p = &hv->payloads[i];
    n = snprintf(line, sizeof line, "(XEN)  name=%s state=%s rc=%d metadata=%u\n", p->name,
                 p->state == STATE_APPLIED ? "APPLIED" : "CHECKED", p->rc, p->meta_len);
    hv_console_write(hv, line, (size_t)n);
  }
}
