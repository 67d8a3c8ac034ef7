#include "list_walk.h"

#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>

namespace xlp {
namespace {

// libxenctrl restarts its walk when Xen's list version changes between two of its pages, up to
// four times, but it rewinds neither the hypervisor index nor its output offsets into our name
// and metadata buffers (4.14 through 4.22). One call can therefore write up to five walks' worth
// of names and metadata. Such a result is torn, and ListAll() discards it; the buffers only have
// to be big enough that what libxenctrl writes stays inside them.
constexpr uint64_t kLibxcWalks = 5;
// Room for metadata that appears between our size probe and the list call (see ListAll).
constexpr uint64_t kMetadataHeadroom = 64 * 1024;
// Far beyond any real system (payloads are hand-made hot fixes), but keeps allocations bounded.
constexpr unsigned kMaxPayloads = 1u << 16;
constexpr uint64_t kMaxBuffer = 512ull << 20;

bool SamePayloads(const std::vector<ListedPayload>& a, const std::vector<ListedPayload>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].state != b[i].state || a[i].rc != b[i].rc ||
        a[i].metadata != b[i].metadata) {
      return false;
    }
  }
  return true;
}

struct Sizes {
  unsigned nr = 0;
  uint32_t names = 0;
  uint32_t metadata = 0;
  bool operator==(const Sizes& o) const {
    return nr == o.nr && names == o.names && metadata == o.metadata;
  }
  bool operator!=(const Sizes& o) const { return !(*this == o); }
};

int CurrentErrno() { return errno > 0 ? errno : EIO; }

int Probe(const XenctrlApi& api, abi::XcInterface* xch, Sizes* s) {
  errno = 0;
  if (api.livepatch_list_get_sizes(xch, &s->nr, &s->names, &s->metadata) != 0) {
    return CurrentErrno();
  }
  return 0;
}

struct Buffers {
  explicit Buffers(unsigned nr, uint64_t name_cap, uint64_t meta_cap)
      : info(nr), len(nr), meta_len(nr), names(name_cap), metadata(meta_cap) {}
  std::vector<abi::LivepatchStatus> info;
  std::vector<uint32_t> len;
  std::vector<uint32_t> meta_len;
  std::vector<char> names;
  std::vector<char> metadata;
};

// Reads the entries back, trusting nothing: every length must stay inside what the probe
// announced (and so inside our buffers), every name must be NUL-terminated exactly at its end,
// and the lengths must add up to the probed totals. Any mismatch means the walk was torn.
bool Parse(const Sizes& probed, const Buffers& b, std::vector<ListedPayload>* out) {
  uint64_t name_off = 0;
  uint64_t meta_off = 0;
  out->clear();
  out->reserve(probed.nr);
  for (unsigned i = 0; i < probed.nr; ++i) {
    const uint32_t l = b.len[i];
    if (l == 0 || l > abi::kLivepatchNameSize || name_off + l > probed.names) return false;
    const char* name = b.names.data() + name_off;
    if (name[l - 1] != '\0' || std::memchr(name, '\0', l - 1) != nullptr) return false;
    const uint32_t ml = b.meta_len[i];
    if (meta_off + ml > probed.metadata) return false;
    const auto* meta = reinterpret_cast<const uint8_t*>(b.metadata.data() + meta_off);

    ListedPayload p;
    p.name.assign(name, l - 1);
    p.state = b.info[i].state;
    p.rc = b.info[i].rc;
    p.metadata.assign(meta, meta + ml);
    out->push_back(std::move(p));
    name_off += l;
    meta_off += ml;
  }
  return name_off == probed.names && meta_off == probed.metadata;
}

}  // namespace

// Races with uploads and unloads (Xen bumps its list version on both) are detected by:
// - libxenctrl's own version check between its pages (EBUSY after its retries);
// - `left` > 0 (the list grew: Xen had more than the `nr` entries we asked for);
// - `done` < nr (the list shrank);
// - ENOBUFS (Xen 4.21+: names or metadata no longer fit the sizes we passed in);
// - a second size probe after the list that differs from the first;
// - Parse() rejecting lengths that do not add up;
// - and, for what none of these can see, two consecutive reads that must agree. When libxenctrl
//   restarts a walk itself it neither rewinds Xen's index nor its output offsets, so with names
//   and metadata of uniform lengths a torn walk passes every check above while pairing names
//   with the states of other payloads. A torn walk does not repeat identically.
// Any of these restarts the whole probe+list, at most kListAttempts times, then we report EBUSY.
// Apply and revert do not bump the version, so a state that changes between the two reads (an
// action completing) costs one more read.
//
// The race that remains, on Xen before 4.21: Xen ignores the buffer sizes we pass and writes every
// name and metadata blob of the `nr` entries it returns. Names cannot overflow (at most `nr`
// entries of at most 128 bytes, and the buffer holds five times that). Metadata can, if between
// our probe and the list call payloads are unloaded and replaced by as many new ones whose
// metadata adds up to more than our headroom: libxenctrl then copies past the end of our
// metadata buffer. Nothing on the caller's side can prevent it; 4.21 closed it with ENOBUFS.
ListResult ListAll(const XenctrlApi& api, abi::XcInterface* xch) {
  ListResult result;
  std::optional<std::vector<ListedPayload>> previous;
  for (unsigned attempt = 0; attempt < kListAttempts; ++attempt) {
    Sizes before;
    if ((result.error = Probe(api, xch, &before)) != 0) return result;
    if (before.nr == 0) return result;  // nothing was walked, so nothing can be torn
    if (before.nr > kMaxPayloads) {
      result.error = ENOMEM;
      return result;
    }
    const uint64_t name_cap = uint64_t{before.nr} * abi::kLivepatchNameSize * kLibxcWalks;
    const uint64_t meta_cap = uint64_t{before.metadata} * kLibxcWalks + kMetadataHeadroom;
    if (name_cap > kMaxBuffer || meta_cap > kMaxBuffer) {
      result.error = ENOMEM;
      return result;
    }
    Buffers b(before.nr, name_cap, meta_cap);

    unsigned done = 0;
    unsigned left = 0;
    errno = 0;
    // The sizes we pass are our buffer capacities: Xen 4.21+ checks against them (ENOBUFS), and
    // libxenctrl sizes its bounce buffers from them (and copies them back whole on its retries).
    const int rc = api.livepatch_list(
        xch, before.nr, 0, b.info.data(), b.names.data(), b.len.data(),
        static_cast<uint32_t>(name_cap), b.metadata.data(), b.meta_len.data(),
        static_cast<uint32_t>(meta_cap), &done, &left);
    if (rc != 0) {
      const int err = CurrentErrno();
      previous.reset();
      if (err == EBUSY || err == ENOBUFS) continue;
      // Other errors (EINVAL when the list shrank under Xen's index, ...) are only a race if the
      // list did change; otherwise they are the answer.
      Sizes after;
      if (Probe(api, xch, &after) == 0 && after != before) continue;
      result.error = err;
      return result;
    }
    if (done != before.nr || left != 0) {
      previous.reset();
      continue;
    }
    Sizes after;
    if ((result.error = Probe(api, xch, &after)) != 0) return result;
    std::vector<ListedPayload> read;
    if (after != before || !Parse(before, b, &read)) {
      previous.reset();
      continue;
    }
    if (previous && SamePayloads(*previous, read)) {
      result.payloads = std::move(read);
      return result;
    }
    previous = std::move(read);
  }
  result.payloads.clear();
  result.error = EBUSY;
  return result;
}

}  // namespace xlp
