// One AsyncWorker per call on a handle. Execute() runs the libxenctrl call on the libuv pool and
// only records C values; OnWorkComplete() turns them into JS values and settles the promise on
// the JS thread, then lets the handle start its next call -- or, when the promise cannot be
// settled because the environment is being torn down, tells the handle so (settle.h).
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "errors.h"

namespace xlp {

class Handle;

class Call : public Napi::AsyncWorker {
 public:
  // The promise, valid in the handle scope that made the call.
  napi_value Promise() const { return promise_; }
  // Deletes a call that was never queued (its promise stays pending: only at teardown).
  void Drop() { Destroy(); }

 protected:
  // Throws (on the JS thread, into JS) if the promise cannot be made.
  Call(Handle* handle, const char* call, std::optional<std::string> payload);

  // Pool thread. Report failures through Fail(); never touch JS values here.
  virtual void Run() = 0;
  // JS thread, only when Run() did not fail.
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  // Records a failure with `errnum` (positive) and what libxenctrl logged during the call.
  void Fail(int errnum, const std::string& detail = "");
  // Fail() with the current errno when a libxenctrl call returned non-zero; true if it did not.
  bool Check(int rc);

  Handle* handle_;

 private:
  void Execute() final;
  void OnWorkComplete(Napi::Env env, napi_status status) final;
  // Settles the promise; false if JS could not run (environment teardown).
  bool Settle(napi_env env);

  napi_deferred deferred_ = nullptr;
  napi_value promise_ = nullptr;
  Napi::ObjectReference keep_alive_;  // the handle's JS object, while this call exists
  CallFailure failure_;
  bool failed_ = false;
};

Call* NewXenVersionCall(Handle* handle);
Call* NewUploadCall(Handle* handle, std::string name, std::vector<uint8_t> payload, bool force);
Call* NewGetCall(Handle* handle, std::string name);
Call* NewListCall(Handle* handle);
Call* NewActionCall(Handle* handle, const char* call, uint32_t cmd, std::string name,
                    uint32_t timeout_ns, uint32_t flags);
Call* NewReadConsoleCall(Handle* handle, bool incremental);
Call* NewSendDebugKeysCall(Handle* handle, std::string keys);
Call* NewCloseCall(Handle* handle);

}  // namespace xlp
