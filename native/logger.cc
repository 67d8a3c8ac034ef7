#include "logger.h"

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <type_traits>

namespace xlp {

CaptureLogger::CaptureLogger() {
  shim_.vtable.vmessage = &CaptureLogger::VMessage;
  shim_.vtable.progress = &CaptureLogger::Progress;
  shim_.vtable.destroy = &CaptureLogger::Destroy;
  shim_.self = this;
}

void CaptureLogger::Clear() {
  present_ = false;
  errnoval_ = -1;
  text_[0] = '\0';
}

CaptureLogger::Message CaptureLogger::Last() const {
  Message m;
  m.present = present_;
  m.errnoval = errnoval_;
  m.text = text_;
  return m;
}

// Runs inside libxenctrl (a C caller): it must not throw and does not allocate.
void CaptureLogger::VMessage(abi::XtlLogger* logger, abi::XtlLevel level, int errnoval,
                             const char* context, const char* format, va_list al) noexcept {
  static_assert(std::is_standard_layout_v<Shim> && offsetof(Shim, vtable) == 0,
                "the logger pointer libxenctrl hands back must be the address of the Shim");
  // Debug and verbose chatter would only hide the message that explains a failure.
  if (level < abi::kXtlDetail || format == nullptr) return;
  CaptureLogger* self = reinterpret_cast<Shim*>(logger)->self;

  char body[384];
  std::vsnprintf(body, sizeof body, format, al);
  std::size_t n = std::strlen(body);
  while (n > 0 && (body[n - 1] == '\n' || body[n - 1] == ' ')) body[--n] = '\0';

  char reason[128] = "";
  if (errnoval > 0) {
    char buf[96];
    // GNU strerror_r: thread-safe, returns the message (maybe not in buf).
    const char* s = strerror_r(errnoval, buf, sizeof buf);
    std::snprintf(reason, sizeof reason, ": %s", s);
  }
  std::snprintf(self->text_, sizeof self->text_, "%s%s%s%s", context ? context : "",
                context ? ": " : "", body, reason);
  self->errnoval_ = errnoval;
  self->present_ = true;
}

}  // namespace xlp
