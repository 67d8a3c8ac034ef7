#include "list_walk.h"

#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>

namespace xlp {
namespace {

// libxenctrl restarts its walk when Xen's list version changes between two of its pages, up to
// four times, but it rewinds neither the hypervisor index nor its output offsets into our name
// and metadata buffers (4.14 through 4.22). One call can therefore write up to five walks' worth
// of names and metadata. Such a result is torn, and ListAll() discards it; the buffers only have
// to be big enough that what libxenctrl writes stays inside them.
constexpr uint64_t kLibxcWalks = 5;
// Room for metadata that appears between our size probe and the list call (see ListAll). Before
// 4.21, room in each of libxenctrl's walks for the most metadata one payload can carry: Xen
// refuses payloads over LIVEPATCH_MAX_SIZE, and a payload's .modinfo is part of it. From 4.21 Xen
// checks our sizes, and the headroom only spares a retry.
constexpr uint64_t kMetadataHeadroomPre421 = kLibxcWalks * (2u << 20);
constexpr uint64_t kMetadataHeadroom421 = 64 * 1024;
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

std::string Describe(const Sizes& s) {
  return std::to_string(s.nr) + " payloads with " + std::to_string(s.names) +
         " bytes of names and " + std::to_string(s.metadata) + " bytes of metadata";
}

int Probe(const XenctrlApi& api, abi::XcInterface* xch, Sizes* s) {
  errno = 0;
  if (api.livepatch_list_get_sizes(xch, &s->nr, &s->names, &s->metadata) != 0) {
    return CurrentErrno();
  }
  return 0;
}

// The name and metadata buffers are mostly room for what might appear (see ListAll): they are
// allocated without being written, so the room costs address space, not memory, and only the
// part Parse() may read (the probed sizes) is zeroed.
struct Buffers {
  Buffers(const Sizes& probed, uint64_t name_cap, uint64_t meta_cap)
      : info(probed.nr),
        len(probed.nr),
        meta_len(probed.nr),
        names(new char[name_cap]),
        metadata(new char[meta_cap]) {
    std::memset(names.get(), 0, probed.names);
    std::memset(metadata.get(), 0, probed.metadata);
  }
  std::vector<abi::LivepatchStatus> info;
  std::vector<uint32_t> len;
  std::vector<uint32_t> meta_len;
  std::unique_ptr<char[]> names;
  std::unique_ptr<char[]> metadata;
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
    const char* name = b.names.get() + name_off;
    if (name[l - 1] != '\0' || std::memchr(name, '\0', l - 1) != nullptr) return false;
    const uint32_t ml = b.meta_len[i];
    if (meta_off + ml > probed.metadata) return false;
    const auto* meta = reinterpret_cast<const uint8_t*>(b.metadata.get() + meta_off);

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
// What remains before 4.21, bounded: Xen ignores the buffer sizes we pass and writes every name
// and metadata blob of the entries it returns, and libxenctrl then copies as many bytes as Xen
// says it wrote into our buffers. Names cannot overflow (a walk returns at most `nr` entries of
// at most 128 bytes, and the buffer holds five walks of those). Metadata could: payloads that
// appear between our probe and Xen's copy bring metadata our probe did not count. Our buffer
// holds five walks of the probed metadata and, for each walk, room for one more payload of the
// largest size Xen accepts (kMetadataHeadroomPre421). So a payload uploaded while we list, with
// any number of unloads around it, can no longer make libxenctrl write past our buffer; that now
// takes at least two uploads landing inside the same LIST (between its probe and Xen's copy, a
// window of microseconds) whose new metadata together exceeds 2 MiB. Closing it entirely would
// need a buffer for any number of concurrent uploads, and libxenctrl allocates hypercall memory
// as large as the buffer we declare (this one costs 10 MiB of it per LIST page already); Xen
// 4.21 closed it with ENOBUFS.
//
// A library that lies (sizes no Xen gives, lengths that do not add up while the list holds still)
// gets no allocation beyond kMaxPayloads and kMaxBuffer, and EBADMSG rather than EBUSY when every
// attempt was inconsistent without the list changing.
ListResult ListAll(const XenctrlApi& api, abi::XcInterface* xch, abi::Generation generation) {
  ListResult result;
  std::optional<std::vector<ListedPayload>> previous;
  const uint64_t headroom = generation == abi::Generation::kXen421 ? kMetadataHeadroom421
                                                                  : kMetadataHeadroomPre421;
  unsigned inconsistent = 0;  // attempts that did not add up although the probes agreed
  Sizes last;
  for (unsigned attempt = 0; attempt < kListAttempts; ++attempt) {
    Sizes before;
    if ((result.error = Probe(api, xch, &before)) != 0) return result;
    if (before.nr == 0) return result;  // nothing was walked, so nothing can be torn
    last = before;
    if (before.nr > kMaxPayloads) {
      result.error = ENOMEM;
      result.detail = "libxenctrl reported " + Describe(before) + "; the addon lists at most " +
                      std::to_string(kMaxPayloads);
      return result;
    }
    const uint64_t name_cap = uint64_t{before.nr} * abi::kLivepatchNameSize * kLibxcWalks;
    const uint64_t meta_cap = uint64_t{before.metadata} * kLibxcWalks + headroom;
    if (name_cap > kMaxBuffer || meta_cap > kMaxBuffer) {
      result.error = ENOMEM;
      result.detail = "libxenctrl reported " + Describe(before) +
                      ", more than the addon's list buffers take (" +
                      std::to_string(kMaxBuffer >> 20) + " MiB each)";
      return result;
    }
    // Parse() reads no further than the probed sizes, which must fit the buffers.
    if (before.names > name_cap || before.metadata > meta_cap) {
      previous.reset();
      ++inconsistent;
      continue;
    }
    Buffers b(before, name_cap, meta_cap);

    unsigned done = 0;
    unsigned left = 0;
    errno = 0;
    // The sizes we pass are our buffer capacities: Xen 4.21+ checks against them (ENOBUFS), and
    // libxenctrl sizes its bounce buffers from them (and copies them back whole on its retries).
    const int rc = api.livepatch_list(
        xch, before.nr, 0, b.info.data(), b.names.get(), b.len.data(),
        static_cast<uint32_t>(name_cap), b.metadata.get(), b.meta_len.data(),
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
    Sizes after;
    if ((result.error = Probe(api, xch, &after)) != 0) return result;
    std::vector<ListedPayload> read;
    if (done != before.nr || left != 0 || after != before || !Parse(before, b, &read)) {
      previous.reset();
      if (after == before) ++inconsistent;
      continue;
    }
    if (previous && SamePayloads(*previous, read)) {
      result.payloads = std::move(read);
      return result;
    }
    previous = std::move(read);
  }
  result.payloads.clear();
  if (inconsistent == kListAttempts) {
    result.error = EBADMSG;
    result.detail = "libxenctrl's list did not add up in " + std::to_string(kListAttempts) +
                    " attempts although the list held still (" + Describe(last) + ")";
  } else {
    result.error = EBUSY;
  }
  return result;
}

}  // namespace xlp
