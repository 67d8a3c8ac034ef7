#include "errors.h"

#include <cstring>

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
  o.Set("xlp", "call");
  o.Set("errno", f.errnum);
  o.Set("code", ErrnoName(f.errnum));
  o.Set("call", f.call);
  if (f.payload) o.Set("payload", *f.payload);
  if (!f.detail.empty()) o.Set("detail", f.detail);
  return error;
}

Napi::Error MakeOpenError(Napi::Env env, const OpenFailure& f) {
  Napi::Error error = Napi::Error::New(env, f.message);
  Napi::Object o = error.Value();
  o.Set("xlp", "open");
  o.Set("reason", f.reason);
  if (f.errnum != 0) {
    o.Set("errno", f.errnum);
    o.Set("code", ErrnoName(f.errnum));
  }
  Napi::Array tried = Napi::Array::New(env, f.tried.size());
  for (uint32_t i = 0; i < f.tried.size(); ++i) tried.Set(i, f.tried[i]);
  o.Set("tried", tried);
  return error;
}

}  // namespace xlp
