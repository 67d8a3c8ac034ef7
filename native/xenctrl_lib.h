// Loading libxenctrl at run time. The addon never links it, so it loads (and reports why Xen is
// unavailable) on machines without Xen; see xen_abi.h for the declarations we call through.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "library_identity.h"
#include "xen_abi.h"

namespace xlp {

// Every symbol the addon uses, resolved once per loaded library.
struct XenctrlApi {
  abi::InterfaceOpen* interface_open = nullptr;
  abi::InterfaceClose* interface_close = nullptr;
  abi::Version* version = nullptr;
  void* livepatch_upload = nullptr;  // prototype depends on the generation, see Upload()
  abi::LivepatchGet* livepatch_get = nullptr;
  abi::LivepatchListGetSizes* livepatch_list_get_sizes = nullptr;
  abi::LivepatchList* livepatch_list = nullptr;
  abi::LivepatchAction* livepatch_apply = nullptr;
  abi::LivepatchAction* livepatch_revert = nullptr;
  abi::LivepatchAction* livepatch_unload = nullptr;
  abi::LivepatchAction* livepatch_replace = nullptr;
  abi::ReadConsoleRing* readconsolering = nullptr;
  abi::SendDebugKeys* send_debug_keys = nullptr;

  int Upload(abi::Generation generation, abi::XcInterface* xch, char* name,
             unsigned char* payload, uint32_t size, bool force) const;
};

// Why no library could be used.
struct LoadFailure {
  // True when a libxenctrl was found but lacks a call we need (e.g. 4.13: no list sizes).
  bool incomplete = false;
  std::vector<std::string> tried;
  std::string message;  // one line: each path tried with its dlerror
};

class XenctrlLibrary {
 public:
  // `explicit_path` (XEN_LIVEPATCH_LIBXENCTRL or the open option) is the only path tried when
  // set; otherwise libxenctrl.so, then the versioned sonames, newest first.
  static std::shared_ptr<XenctrlLibrary> Load(const std::string* explicit_path,
                                              LoadFailure* failure);

  ~XenctrlLibrary();
  XenctrlLibrary(const XenctrlLibrary&) = delete;
  XenctrlLibrary& operator=(const XenctrlLibrary&) = delete;

  const XenctrlApi& api() const { return api_; }
  // The file the dynamic loader actually mapped (resolved from a symbol's address).
  const std::string& path() const { return path_; }
  // What the library says it is (soname, symbol version, release).
  const LibraryIdentity& identity() const { return identity_; }
  // The interface generation of this library's prototypes, or nothing when its release is
  // unknown or one whose ABI this build does not know.
  std::optional<abi::Generation> generation() const;

 private:
  XenctrlLibrary(void* handle, XenctrlApi api, std::string path, LibraryIdentity identity)
      : handle_(handle), api_(api), path_(std::move(path)), identity_(std::move(identity)) {}

  void* handle_;
  XenctrlApi api_;
  std::string path_;
  LibraryIdentity identity_;
};

// The generation of a libxenctrl of release (major << 16) | minor, or nothing for releases whose
// ABI we do not know (4.13 and older, or a new major).
std::optional<abi::Generation> GenerationOfRelease(uint32_t release);
const char* GenerationName(abi::Generation generation);

}  // namespace xlp
