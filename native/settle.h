// Settling a promise from an AsyncWorker's completion, which libuv (C code) calls on the JS
// thread: nothing may throw out of it. When a worker thread is terminated or exits, Node still
// completes the work already queued while it tears the environment down, and then JS cannot run:
// every napi call that would run JS fails, so the promise can neither be resolved nor rejected.
// The workers treat that as "the environment is going away" instead of as an error to report.
#pragma once

#include <napi.h>

namespace xlp {

// Leaves no JS exception pending once a completion is done (nothing up the stack would see it).
inline void ClearPendingException(napi_env env) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
}

}  // namespace xlp
