// The xen_livepatch addon: a mechanism-only bridge to libxenctrl's livepatch sysctls. Policy
// (what to do with a state, retries, waiting for actions) lives in the TypeScript layers above.
#include <napi.h>

#include "handle.h"
#include "open.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  xlp::Handle::Define(env);
  exports.Set("open", Napi::Function::New<xlp::Open>(env, "open"));
  return exports;
}

}  // namespace

NODE_API_MODULE(xen_livepatch, Init)
