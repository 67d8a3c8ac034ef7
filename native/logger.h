// A xentoollog_logger of our own. Without one, libxenctrl and the libraries under it (xencall,
// xenforeignmemory) print their errors to stderr, which would corrupt the CLI's output. This one
// prints nothing: it keeps the last message so an error can quote it.
#pragma once

#include <string>

#include "xen_abi.h"

namespace xlp {

class CaptureLogger {
 public:
  struct Message {
    bool present = false;
    int errnoval = -1;  // the errno the library logged with, or -1
    std::string text;   // "context: message: strerror"
  };

  CaptureLogger();
  CaptureLogger(const CaptureLogger&) = delete;
  CaptureLogger& operator=(const CaptureLogger&) = delete;

  // What libxenctrl is handed. It stays valid as long as this object.
  abi::XtlLogger* c_logger() { return &shim_.vtable; }

  // Calls on one handle are serialized (handle.h), and libxenctrl logs on the calling thread, so
  // the capture needs no lock: it is cleared before a call and read after it on the same thread.
  void Clear();
  Message Last() const;

 private:
  // The C side only sees `vtable`; `self` lets the callback find us again.
  struct Shim {
    abi::XtlLogger vtable;
    CaptureLogger* self;
  };

  static void VMessage(abi::XtlLogger* logger, abi::XtlLevel level, int errnoval,
                       const char* context, const char* format, va_list al) noexcept;
  static void Progress(abi::XtlLogger*, const char*, const char*, int, unsigned long,
                       unsigned long) noexcept {}
  static void Destroy(abi::XtlLogger*) noexcept {}

  Shim shim_;
  bool present_ = false;
  int errnoval_ = -1;
  char text_[512] = {};
};

}  // namespace xlp
