#include "xenctrl_lib.h"

#include <dlfcn.h>

#include <cstring>

namespace xlp {
namespace {

// The newest libxenctrl minor we probe by soname. Newer libraries are still found through the
// unversioned libxenctrl.so (libxen-dev) or XEN_LIVEPATCH_LIBXENCTRL.
constexpr unsigned kNewestMinor = 24;
constexpr unsigned kOldestMinor = 14;

std::vector<std::string> DefaultCandidates() {
  std::vector<std::string> names{"libxenctrl.so"};
  for (unsigned minor = kNewestMinor; minor >= kOldestMinor; --minor) {
    names.push_back("libxenctrl.so.4." + std::to_string(minor));
  }
  return names;
}

std::string LastDlerror() {
  const char* e = dlerror();
  return e != nullptr ? e : "unknown dynamic loader error";
}

// dlerror usually starts with the path itself; drop it so the message can group paths.
std::string WithoutPathPrefix(const std::string& path, const std::string& error) {
  const std::string prefix = path + ": ";
  return error.compare(0, prefix.size(), prefix) == 0 ? error.substr(prefix.size()) : error;
}

template <typename Fn>
bool Resolve(void* handle, const char* symbol, Fn** out, std::string* error) {
  dlerror();
  void* p = dlsym(handle, symbol);
  if (p == nullptr) {
    *error = LastDlerror();
    return false;
  }
  *out = reinterpret_cast<Fn*>(p);
  return true;
}

bool ResolveAll(void* handle, XenctrlApi* api, std::string* error) {
  return Resolve(handle, "xc_interface_open", &api->interface_open, error) &&
         Resolve(handle, "xc_interface_close", &api->interface_close, error) &&
         Resolve(handle, "xc_version", &api->version, error) &&
         Resolve(handle, "xc_livepatch_upload", &api->livepatch_upload, error) &&
         Resolve(handle, "xc_livepatch_get", &api->livepatch_get, error) &&
         Resolve(handle, "xc_livepatch_list_get_sizes", &api->livepatch_list_get_sizes, error) &&
         Resolve(handle, "xc_livepatch_list", &api->livepatch_list, error) &&
         Resolve(handle, "xc_livepatch_apply", &api->livepatch_apply, error) &&
         Resolve(handle, "xc_livepatch_revert", &api->livepatch_revert, error) &&
         Resolve(handle, "xc_livepatch_unload", &api->livepatch_unload, error) &&
         Resolve(handle, "xc_livepatch_replace", &api->livepatch_replace, error) &&
         Resolve(handle, "xc_readconsolering", &api->readconsolering, error) &&
         Resolve(handle, "xc_send_debug_keys", &api->send_debug_keys, error);
}

std::string MappedPath(const XenctrlApi& api, const std::string& fallback) {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(api.interface_open), &info) != 0 &&
      info.dli_fname != nullptr && info.dli_fname[0] != '\0') {
    return info.dli_fname;
  }
  return fallback;
}

// "a, b: reason; c: other reason", grouping consecutive paths that failed the same way.
std::string Summarize(const std::vector<std::string>& paths, const std::vector<std::string>& why) {
  std::string out;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    out += paths[i];
    const bool last_of_group = i + 1 == paths.size() || why[i + 1] != why[i];
    out += last_of_group ? ": " + why[i] + (i + 1 == paths.size() ? "" : "; ") : ", ";
  }
  return out;
}

}  // namespace

int XenctrlApi::Upload(abi::Generation generation, abi::XcInterface* xch, char* name,
                       unsigned char* payload, uint32_t size, bool force) const {
  if (generation == abi::Generation::kXen414) {
    return reinterpret_cast<abi::gen414::LivepatchUpload*>(livepatch_upload)(xch, name, payload,
                                                                              size);
  }
  return reinterpret_cast<abi::gen419::LivepatchUpload*>(livepatch_upload)(xch, name, payload,
                                                                            size, force);
}

std::shared_ptr<XenctrlLibrary> XenctrlLibrary::Load(const std::string* explicit_path,
                                                     LoadFailure* failure) {
  const std::vector<std::string> candidates =
      explicit_path != nullptr ? std::vector<std::string>{*explicit_path} : DefaultCandidates();
  std::vector<std::string> reasons;
  for (const std::string& candidate : candidates) {
    failure->tried.push_back(candidate);
    dlerror();
    // RTLD_LOCAL: the xc_* names must never interpose on anything else in the process.
    void* handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      reasons.push_back(WithoutPathPrefix(candidate, LastDlerror()));
      continue;
    }
    XenctrlApi api;
    std::string missing;
    if (!ResolveAll(handle, &api, &missing)) {
      // With xc_interface_open it is a libxenctrl, only too old (4.13 has no list sizes);
      // without, it is some other library.
      const bool libxenctrl = api.interface_open != nullptr;
      dlclose(handle);
      failure->incomplete = failure->incomplete || libxenctrl;
      reasons.push_back((libxenctrl ? "a libxenctrl without the livepatch calls we need ("
                                    : "not a libxenctrl (") +
                        WithoutPathPrefix(candidate, missing) + ")");
      continue;
    }
    LibraryIdentity identity = ReadLibraryIdentity(handle, api.livepatch_upload);
    return std::shared_ptr<XenctrlLibrary>(
        new XenctrlLibrary(handle, api, MappedPath(api, candidate), std::move(identity)));
  }
  failure->message = Summarize(failure->tried, reasons);
  return nullptr;
}

XenctrlLibrary::~XenctrlLibrary() { dlclose(handle_); }

std::optional<abi::Generation> XenctrlLibrary::generation() const {
  return identity_.release ? GenerationOfRelease(*identity_.release) : std::nullopt;
}

std::optional<abi::Generation> GenerationOfRelease(uint32_t release) {
  const uint32_t major = release >> 16;
  const uint32_t minor = release & 0xffff;
  if (major != 4 || minor < 14) return std::nullopt;
  if (minor <= 18) return abi::Generation::kXen414;
  if (minor <= 20) return abi::Generation::kXen419;
  return abi::Generation::kXen421;
}

const char* GenerationName(abi::Generation generation) {
  switch (generation) {
    case abi::Generation::kXen414:
      return "4.14-4.18";
    case abi::Generation::kXen419:
      return "4.19-4.20";
    case abi::Generation::kXen421:
      return "4.21+";
  }
  return "unknown";
}

}  // namespace xlp
