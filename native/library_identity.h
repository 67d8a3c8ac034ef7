// Which Xen release a loaded libxenctrl belongs to, read from the library itself. Xen's build
// names both its soname (libxenctrl.so.4.17) and the version node of every exported symbol
// (VERS_4.17.0 up to 4.17, libxenctrl_4.20.0 from 4.18) after the release, and the release fixes
// the prototypes the addon must call: xc_livepatch_upload took a `bool force` from 4.19. The
// hypervisor's version says nothing about the library (a tools upgrade without a reboot pairs a
// 4.20 library with a 4.17 hypervisor), so it is never used for this.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace xlp {

struct LibraryIdentity {
  std::string soname;          // DT_SONAME, or empty
  std::string upload_version;  // the version node of xc_livepatch_upload, or empty
  // The release read from upload_version, else from the soname; nothing when neither names one.
  std::optional<uint32_t> release;  // (major << 16) | minor, as XENVER_version
};

// `dl_handle` is the dlopen handle, `upload_symbol` the address dlsym gave for
// xc_livepatch_upload. Reads only the tables the dynamic loader already mapped and checked;
// every offset is bounds-checked against the string table.
LibraryIdentity ReadLibraryIdentity(void* dl_handle, const void* upload_symbol);

// "VERS_4.17.0" / "libxenctrl_4.20.0" / "libxenctrl.so.4.17" to (major << 16) | minor.
std::optional<uint32_t> ReleaseFromVersionNode(const std::string& node);
std::optional<uint32_t> ReleaseFromSoname(const std::string& soname);

}  // namespace xlp
