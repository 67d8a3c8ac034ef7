// The JS object wrapping one open xc_interface. It owns the interface, our logger and the
// library reference, and runs the calls made on it one at a time, in order, on the libuv pool.
//
// A handle dropped without close() keeps its interface (several file descriptors on /dev/xen
// and libxenctrl's hypercall buffers) until the garbage collector finalizes it. V8 cannot see
// that cost, so each open interface reports kExternalCost bytes of external memory, which makes
// the collector reach unclosed handles sooner; close() is still the way to release them.
#pragma once

#include <napi.h>

#include <cstdint>
#include <deque>
#include <memory>

#include "errors.h"
#include "logger.h"
#include "xenctrl_lib.h"

namespace xlp {

class Call;

// What a successful open produces; a Handle takes it over.
struct OpenedInterface {
  std::shared_ptr<XenctrlLibrary> library;
  std::unique_ptr<CaptureLogger> logger;  // must outlive xch: libxenctrl keeps the pointer
  abi::XcInterface* xch = nullptr;
  abi::Generation generation = abi::Generation::kXen414;
  uint32_t xen_version = 0;

  void Close();
  ~OpenedInterface() { Close(); }
};

class Handle : public Napi::ObjectWrap<Handle> {
 public:
  static Napi::Function Define(Napi::Env env);
  // The only way to make a Handle; `new` from JS is refused.
  static Napi::Object NewInstance(Napi::Env env, std::unique_ptr<OpenedInterface> opened);

  explicit Handle(const Napi::CallbackInfo& info);
  ~Handle() override;

  // For the call running on the pool (there is at most one per handle).
  OpenedInterface& interface() { return *opened_; }
  bool open() const { return opened_ != nullptr && opened_->xch != nullptr; }
  uint32_t& console_index() { return console_index_; }

  // JS thread.
  void CallFinished();
  // Closes the interface and frees the logger and library reference (once no call can use them).
  void ReleaseInterface();
  // The promise of the call that just ran could not be settled: the environment is being torn
  // down (worker terminated or exiting) and JS cannot run. Queued calls are dropped unrun, with
  // their promises left pending (nobody can observe them), and the interface is closed now.
  void TearDown();
  // A handle that was made but could not be handed to JS: the same as TearDown().
  void Abandon() { TearDown(); }

 private:
  Napi::Value XenVersion(const Napi::CallbackInfo& info);
  Napi::Value Upload(const Napi::CallbackInfo& info);
  Napi::Value Get(const Napi::CallbackInfo& info);
  Napi::Value List(const Napi::CallbackInfo& info);
  Napi::Value Action(const Napi::CallbackInfo& info);
  Napi::Value ReadConsole(const Napi::CallbackInfo& info);
  Napi::Value SendDebugKeys(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  // Queues `call` behind the running one and returns its promise; after close() every new call
  // is refused with EBADF instead.
  Napi::Value Submit(Call* call);
  bool Refused(Napi::Env env, const char* call, const std::string* payload, Napi::Value* out);
  // A promise already rejected with `failure` (a refusal decided on the JS thread).
  static Napi::Value RejectedWith(Napi::Env env, const CallFailure& failure);

  std::unique_ptr<OpenedInterface> opened_;
  bool closing_ = false;
  bool tearing_down_ = false;
  bool running_ = false;
  bool external_reported_ = false;  // kExternalCost is counted in V8's external memory
  std::deque<Call*> pending_;
  uint32_t console_index_ = 0;  // XEN_SYSCTL_readconsole's index for incremental reads
};

}  // namespace xlp
