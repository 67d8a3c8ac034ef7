// open(): load libxenctrl, open an interface with our quiet logger, and pick the ABI generation,
// all on the libuv pool. Failures become the XenUnavailableError reasons.
#pragma once

#include <napi.h>

namespace xlp {

// open(options?: { library?: string }) => Promise<XenctrlHandle>
Napi::Value Open(const Napi::CallbackInfo& info);

}  // namespace xlp
