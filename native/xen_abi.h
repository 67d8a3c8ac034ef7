// Our own declarations of the part of the libxenctrl ABI the addon calls.
//
// Why not include <xenctrl.h>: the addon must build with only a C++ compiler (no libxen-dev), the
// header has no extern "C" guard, and its prototypes change between Xen releases while we load
// whichever library the machine has at run time. Everything here is checked against Debian's real
// header by test/native/toolchain/abi.test.ts (4.14-4.18 generation); the other generations differ
// only where noted.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>

namespace xlp::abi {

// xc_interface (struct xc_interface_core) is opaque to callers.
struct XcInterface;

// xentoollog_level. GCC gives a C enum without negative values the underlying type unsigned int.
enum XtlLevel : unsigned int {
  kXtlNone = 0,
  kXtlDebug,
  kXtlVerbose,
  kXtlDetail,
  kXtlProgress,
  kXtlInfo,
  kXtlNotice,
  kXtlWarn,
  kXtlError,
  kXtlCritical,
};

// struct xentoollog_logger: a vtable the libraries call; implementations append their own state.
struct XtlLogger {
  void (*vmessage)(XtlLogger* logger, XtlLevel level, int errnoval, const char* context,
                   const char* format, va_list al);
  void (*progress)(XtlLogger* logger, const char* context, const char* doing_what, int percent,
                   unsigned long done, unsigned long total);
  void (*destroy)(XtlLogger* logger);
};

// struct xen_livepatch_status (xen/sysctl.h).
struct LivepatchStatus {
  uint32_t state;
  int32_t rc;
};

// struct xen_build_id is { uint32_t len; unsigned char buf[]; }: we allocate the header and the
// buffer in one block and address buf through this offset.
struct BuildIdHeader {
  uint32_t len;
};
constexpr std::size_t kBuildIdBufOffset = sizeof(uint32_t);

// xen_extraversion_t (xen/version.h).
constexpr std::size_t kExtraVersionSize = 16;

constexpr int kXenverVersion = 0;
constexpr int kXenverExtraversion = 1;
constexpr int kXenverBuildId = 10;

constexpr std::size_t kLivepatchNameSize = 128;  // includes the NUL
constexpr uint32_t kLivepatchStateChecked = 1;
constexpr uint32_t kLivepatchStateApplied = 2;
constexpr uint32_t kLivepatchActionUnload = 1;
constexpr uint32_t kLivepatchActionRevert = 2;
constexpr uint32_t kLivepatchActionApply = 3;
constexpr uint32_t kLivepatchActionReplace = 4;
constexpr uint32_t kLivepatchActionApplyNodeps = 1u << 0;

// Function types, identical in every generation we support (4.14 and later).
using InterfaceOpen = XcInterface*(XtlLogger* logger, XtlLogger* dombuild_logger,
                                   unsigned open_flags);
using InterfaceClose = int(XcInterface* xch);
using Version = int(XcInterface* xch, int cmd, void* arg);
using LivepatchGet = int(XcInterface* xch, char* name, LivepatchStatus* status);
using LivepatchListGetSizes = int(XcInterface* xch, unsigned int* nr, uint32_t* name_total_size,
                                  uint32_t* metadata_total_size);
using LivepatchList = int(XcInterface* xch, unsigned int max, unsigned int start,
                          LivepatchStatus* info, char* name, uint32_t* len,
                          uint32_t name_total_size, char* metadata, uint32_t* metadata_len,
                          uint32_t metadata_total_size, unsigned int* done, unsigned int* left);
// xc_livepatch_{apply,revert,unload,replace}: (xch, name, timeout ns, flags).
using LivepatchAction = int(XcInterface* xch, char* name, uint32_t timeout, uint32_t flags);
using ReadConsoleRing = int(XcInterface* xch, char* buffer, unsigned int* pnr_chars, int clear,
                            int incremental, uint32_t* pindex);
using SendDebugKeys = int(XcInterface* xch, const char* keys);

// Interface generations of a libxenctrl, taken from the library itself (library_identity.h), since
// the library's release fixes its prototypes whatever hypervisor it talks to. They differ in one
// prototype and in one semantic:
// - 4.19 added `bool force` to xc_livepatch_upload (LIVEPATCH_FLAG_FORCE);
// - 4.21 made LIST's name/metadata total sizes IN (our buffer sizes) as well as OUT, and Xen
//   answers ENOBUFS instead of writing past them. Before 4.21 Xen trusts the caller's buffers.
//   4.21 also bumped the sysctl interface (0x15 to 0x16): Xen refuses every sysctl from tools of
//   the other side with EACCES.
enum class Generation { kXen414, kXen419, kXen421 };

namespace gen414 {
using LivepatchUpload = int(XcInterface* xch, char* name, unsigned char* payload, uint32_t size);
}
namespace gen419 {
using LivepatchUpload = int(XcInterface* xch, char* name, unsigned char* payload, uint32_t size,
                            bool force);
}

}  // namespace xlp::abi
