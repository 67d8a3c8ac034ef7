#include "errors.h"

#include <cstring>

#include "js_object.h"

namespace xlp {

std::string ErrnoName(int errnum) {
  const char* name = strerrorname_np(errnum);
  return name != nullptr ? name : "ERRNO_" + std::to_string(errnum);
}

std::string ErrnoText(int errnum) {
  char buf[128];
  return strerror_r(errnum, buf, sizeof buf);  // GNU variant: returns the message
}

Napi::Error MakeCallError(Napi::Env env, const CallFailure& f) {
  std::string message = f.call;
  if (f.payload) message += " \"" + *f.payload + "\"";
  message += " failed: " + ErrnoText(f.errnum) + " (" + ErrnoName(f.errnum) + ", errno " +
             std::to_string(f.errnum) + ")";
  if (!f.detail.empty()) message += " (" + f.detail + ")";

  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object o = error.Value();
  Define(o, "xlp", Napi::String::New(env, "call"));
  Define(o, "errno", Napi::Number::New(env, f.errnum));
  Define(o, "code", Napi::String::New(env, ErrnoName(f.errnum)));
  Define(o, "call", Napi::String::New(env, f.call));
  if (f.payload) {
    // The name as text (lossy for bytes that are not UTF-8) and as the bytes Xen was sent.
    Define(o, "payload", Napi::String::New(env, *f.payload));
    Define(o, "payloadBytes", Napi::Buffer<char>::Copy(env, f.payload->data(), f.payload->size()));
  }
  if (!f.detail.empty()) Define(o, "detail", Napi::String::New(env, f.detail));
  return error;
}

Napi::Error MakeOpenError(Napi::Env env, const OpenFailure& f) {
  Napi::Error error = Napi::Error::New(env, f.message);
  Napi::Object o = error.Value();
  Define(o, "xlp", Napi::String::New(env, "open"));
  Define(o, "reason", Napi::String::New(env, f.reason));
  if (f.errnum != 0) {
    Define(o, "errno", Napi::Number::New(env, f.errnum));
    Define(o, "code", Napi::String::New(env, ErrnoName(f.errnum)));
  }
  Define(o, "tried", DefineArray(env, static_cast<uint32_t>(f.tried.size()), [&](uint32_t i) {
           return Napi::String::New(env, f.tried[i]).As<Napi::Value>();
         }));
  return error;
}

}  // namespace xlp
