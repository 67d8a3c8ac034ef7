// The Error objects the addon rejects with. They carry plain data (errno, call, payload, reason)
// and a marker, `xlp`, that lib/native/ turns into XenError / XenUnavailableError.
#pragma once

#include <napi.h>

#include <optional>
#include <string>
#include <vector>

namespace xlp {

// A libxenctrl call that failed. `errnum` is positive, as libxenctrl sets errno.
struct CallFailure {
  int errnum = 0;
  std::string call;  // the backend call: "get", "list", "apply", ...
  std::optional<std::string> payload;
  std::string detail;  // what libxenctrl logged during the call, or our own explanation
};

// Why the interface could not be opened. `reason` is one of XenUnavailableReason.
struct OpenFailure {
  std::string reason;
  int errnum = 0;  // 0 when no errno is involved (library not found, unsupported version)
  std::vector<std::string> tried;
  std::string message;
};

Napi::Error MakeCallError(Napi::Env env, const CallFailure& failure);
Napi::Error MakeOpenError(Napi::Env env, const OpenFailure& failure);

// "EINVAL", or "ERRNO_<n>" for a number glibc has no name for (hook return codes can be anything).
std::string ErrnoName(int errnum);
std::string ErrnoText(int errnum);

}  // namespace xlp
