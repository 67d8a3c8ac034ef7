// Compiled by abi.test.ts against the system's <xenctrl.h> (Debian 12's libxen-dev) and against
// Debian 13's (unpacked into the cache, never installed): every
// prototype, struct layout and constant in native/xen_abi.h must be exactly the real one, or
// this fails to compile. Run, it prints the generation whose upload prototype the header has.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <type_traits>

#include "xen_abi.h"

extern "C" {
#include <xenctrl.h>
}

namespace abi = xlp::abi;

// The real header's types mapped onto ours, so whole prototypes compare with std::is_same.
template <typename T>
struct Ours {
  using type = T;
};
template <>
struct Ours<xc_interface*> {
  using type = abi::XcInterface*;
};
template <>
struct Ours<xentoollog_logger*> {
  using type = abi::XtlLogger*;
};
template <>
struct Ours<xen_livepatch_status_t*> {
  using type = abi::LivepatchStatus*;
};
template <>
struct Ours<xentoollog_level> {
  using type = abi::XtlLevel;
};
template <typename R, typename... A>
struct Ours<R(A...)> {
  using type = typename Ours<R>::type(typename Ours<A>::type...);
};
template <typename R, typename... A>
struct Ours<R (*)(A...)> {
  using type = typename Ours<R(A...)>::type*;
};
template <typename T>
using OursT = typename Ours<T>::type;

#define SAME_PROTOTYPE(real, ours) \
  static_assert(std::is_same_v<OursT<decltype(real)>, ours>, #real " differs from " #ours)

SAME_PROTOTYPE(xc_interface_open, abi::InterfaceOpen);
SAME_PROTOTYPE(xc_interface_close, abi::InterfaceClose);
SAME_PROTOTYPE(xc_version, abi::Version);
SAME_PROTOTYPE(xc_livepatch_get, abi::LivepatchGet);
SAME_PROTOTYPE(xc_livepatch_list_get_sizes, abi::LivepatchListGetSizes);
SAME_PROTOTYPE(xc_livepatch_list, abi::LivepatchList);
SAME_PROTOTYPE(xc_livepatch_apply, abi::LivepatchAction);
SAME_PROTOTYPE(xc_livepatch_revert, abi::LivepatchAction);
SAME_PROTOTYPE(xc_livepatch_unload, abi::LivepatchAction);
SAME_PROTOTYPE(xc_livepatch_replace, abi::LivepatchAction);
SAME_PROTOTYPE(xc_readconsolering, abi::ReadConsoleRing);
SAME_PROTOTYPE(xc_send_debug_keys, abi::SendDebugKeys);

// The one prototype that differs between generations: 4.19 added `bool force`.
constexpr bool kUploadGen414 = std::is_same_v<OursT<decltype(xc_livepatch_upload)>,
                                              abi::gen414::LivepatchUpload>;
constexpr bool kUploadGen419 = std::is_same_v<OursT<decltype(xc_livepatch_upload)>,
                                              abi::gen419::LivepatchUpload>;
static_assert(kUploadGen414 != kUploadGen419,
              "xc_livepatch_upload matches neither generation's prototype in xen_abi.h");
#ifdef XLP_ABI_EXPECT_GEN414
static_assert(kUploadGen414, "expected the 4.14-4.18 xc_livepatch_upload (no force flag)");
#endif
#ifdef XLP_ABI_EXPECT_GEN419
static_assert(kUploadGen419, "expected the 4.19+ xc_livepatch_upload (bool force)");
#endif
#ifdef XLP_ABI_EXPECT_SYSCTL_INTERFACE
// The sysctl interface the version model (lib/xen/version.ts) gives this header's Xen.
static_assert(XEN_SYSCTL_INTERFACE_VERSION == XLP_ABI_EXPECT_SYSCTL_INTERFACE,
              "XEN_SYSCTL_INTERFACE_VERSION is not the one the version model gives this Xen");
#endif
#ifdef XLP_ABI_SELFTEST_MISMATCH
// The test compiles this once to prove a mismatch is caught: 4.14's upload is not 4.19's.
static_assert(std::is_same_v<OursT<decltype(xc_livepatch_upload)>,
                             abi::gen414::LivepatchUpload> &&
                  std::is_same_v<OursT<decltype(xc_livepatch_upload)>,
                                 abi::gen419::LivepatchUpload>,
              "ABI self-test: a mismatch was detected");
#endif

// xentoollog_logger: the vtable libxenctrl calls through.
static_assert(sizeof(abi::XtlLogger) == sizeof(xentoollog_logger));
static_assert(alignof(abi::XtlLogger) == alignof(xentoollog_logger));
static_assert(offsetof(abi::XtlLogger, vmessage) == offsetof(xentoollog_logger, vmessage));
static_assert(offsetof(abi::XtlLogger, progress) == offsetof(xentoollog_logger, progress));
static_assert(offsetof(abi::XtlLogger, destroy) == offsetof(xentoollog_logger, destroy));
// The real vmessage carries a printf-format attribute, which is not part of its type.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
static_assert(std::is_same_v<OursT<decltype(xentoollog_logger::vmessage)>,
                             decltype(abi::XtlLogger::vmessage)>);
#pragma GCC diagnostic pop
static_assert(std::is_same_v<OursT<decltype(xentoollog_logger::progress)>,
                             decltype(abi::XtlLogger::progress)>);
static_assert(std::is_same_v<OursT<decltype(xentoollog_logger::destroy)>,
                             decltype(abi::XtlLogger::destroy)>);
static_assert(std::is_same_v<std::underlying_type_t<xentoollog_level>,
                             std::underlying_type_t<abi::XtlLevel>>);
constexpr bool SameLevel(abi::XtlLevel ours, xentoollog_level real) {
  return static_cast<unsigned>(ours) == static_cast<unsigned>(real);
}
static_assert(SameLevel(abi::kXtlNone, XTL_NONE) && SameLevel(abi::kXtlDebug, XTL_DEBUG) &&
              SameLevel(abi::kXtlVerbose, XTL_VERBOSE) && SameLevel(abi::kXtlDetail, XTL_DETAIL) &&
              SameLevel(abi::kXtlProgress, XTL_PROGRESS) && SameLevel(abi::kXtlInfo, XTL_INFO) &&
              SameLevel(abi::kXtlNotice, XTL_NOTICE) && SameLevel(abi::kXtlWarn, XTL_WARN) &&
              SameLevel(abi::kXtlError, XTL_ERROR) && SameLevel(abi::kXtlCritical, XTL_CRITICAL));

// struct xen_livepatch_status
static_assert(sizeof(abi::LivepatchStatus) == sizeof(xen_livepatch_status_t));
static_assert(alignof(abi::LivepatchStatus) == alignof(xen_livepatch_status_t));
static_assert(offsetof(abi::LivepatchStatus, state) == offsetof(xen_livepatch_status_t, state));
static_assert(offsetof(abi::LivepatchStatus, rc) == offsetof(xen_livepatch_status_t, rc));
static_assert(std::is_same_v<decltype(abi::LivepatchStatus::state),
                             decltype(xen_livepatch_status_t::state)>);
static_assert(std::is_same_v<decltype(abi::LivepatchStatus::rc),
                             decltype(xen_livepatch_status_t::rc)>);

// struct xen_build_id, xen_extraversion_t
static_assert(sizeof(abi::BuildIdHeader) == sizeof(xen_build_id_t));
static_assert(offsetof(abi::BuildIdHeader, len) == offsetof(xen_build_id_t, len));
static_assert(std::is_same_v<decltype(abi::BuildIdHeader::len), decltype(xen_build_id_t::len)>);
static_assert(abi::kBuildIdBufOffset == offsetof(xen_build_id_t, buf));
static_assert(abi::kExtraVersionSize == sizeof(xen_extraversion_t));

// Constants
static_assert(abi::kXenverVersion == XENVER_version);
static_assert(abi::kXenverExtraversion == XENVER_extraversion);
static_assert(abi::kXenverBuildId == XENVER_build_id);
static_assert(abi::kLivepatchNameSize == XEN_LIVEPATCH_NAME_SIZE);
static_assert(abi::kLivepatchStateChecked == LIVEPATCH_STATE_CHECKED);
static_assert(abi::kLivepatchStateApplied == LIVEPATCH_STATE_APPLIED);
static_assert(abi::kLivepatchActionUnload == LIVEPATCH_ACTION_UNLOAD);
static_assert(abi::kLivepatchActionRevert == LIVEPATCH_ACTION_REVERT);
static_assert(abi::kLivepatchActionApply == LIVEPATCH_ACTION_APPLY);
static_assert(abi::kLivepatchActionReplace == LIVEPATCH_ACTION_REPLACE);
static_assert(abi::kLivepatchActionApplyNodeps == LIVEPATCH_ACTION_APPLY_NODEPS);

int main() {
  std::puts(kUploadGen414 ? "4.14-4.18" : "4.19+");
  return 0;
}
