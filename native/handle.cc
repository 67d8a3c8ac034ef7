#include "handle.h"

#include <cerrno>

#include "args.h"
#include "errors.h"
#include "workers.h"

namespace xlp {
namespace {

// What an open interface is reported to cost V8 (see handle.h): a stand-in for its file
// descriptors and hypercall buffers, large enough that a loop of dropped handles triggers
// collections before the process runs out of descriptors.
constexpr int64_t kExternalCost = 1 << 20;

// Xen's LIVEPATCH_MAX_SIZE: anything larger is refused with EINVAL before Xen reads a byte, so
// the addon refuses it the same way without copying it first.
constexpr std::size_t kLivepatchMaxSize = 2u << 20;

// Per-environment state (the addon is context-aware: worker threads get their own).
struct HandleClass {
  Napi::FunctionReference constructor;
  // Set only for the duration of NewInstance, so that JS cannot construct a Handle itself.
  OpenedInterface* handing_over = nullptr;
};

HandleClass& ClassData(Napi::Env env) { return *env.GetInstanceData<HandleClass>(); }

const char* ActionCallName(uint32_t cmd) {
  switch (cmd) {
    case abi::kLivepatchActionUnload:
      return "unload";
    case abi::kLivepatchActionRevert:
      return "revert";
    case abi::kLivepatchActionApply:
      return "apply";
    case abi::kLivepatchActionReplace:
      return "replace";
  }
  return nullptr;
}

}  // namespace

void OpenedInterface::Close() {
  if (xch != nullptr) {
    library->api().interface_close(xch);
    xch = nullptr;
  }
}

Napi::Function Handle::Define(Napi::Env env) {
  Napi::Function ctor = DefineClass(
      env, "XenctrlHandle",
      {
          InstanceMethod<&Handle::XenVersion>("xenVersion"),
          InstanceMethod<&Handle::Upload>("upload"),
          InstanceMethod<&Handle::Get>("get"),
          InstanceMethod<&Handle::List>("list"),
          InstanceMethod<&Handle::Action>("action"),
          InstanceMethod<&Handle::ReadConsole>("readConsole"),
          InstanceMethod<&Handle::SendDebugKeys>("sendDebugKeys"),
          InstanceMethod<&Handle::Close>("close"),
      });
  auto* data = new HandleClass();
  data->constructor = Napi::Persistent(ctor);
  env.SetInstanceData<HandleClass>(data);
  return ctor;
}

Napi::Object Handle::NewInstance(Napi::Env env, std::unique_ptr<OpenedInterface> opened) {
  HandleClass& cls = ClassData(env);
  cls.handing_over = opened.get();
  Napi::Object object;
  try {
    object = cls.constructor.New({});
  } catch (...) {
    cls.handing_over = nullptr;
    throw;
  }
  // The constructor takes ownership as its very last step, and says so by clearing the slot.
  if (cls.handing_over == nullptr) opened.release();
  cls.handing_over = nullptr;
  return object;
}

Handle::Handle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Handle>(info) {
  Napi::Env env = info.Env();
  HandleClass& cls = ClassData(env);
  OpenedInterface* opened = cls.handing_over;
  if (opened == nullptr) {
    throw Napi::TypeError::New(env, "XenctrlHandle objects are made by open()");
  }

  Napi::Object self = info.This().As<Napi::Object>();
  const auto ro = napi_enumerable;
  const LibraryIdentity& id = opened->library->identity();
  const uint32_t release = id.release.value_or(0);  // known: open() refuses unknown libraries
  auto string_or_null = [&](const std::string& s) -> Napi::Value {
    return s.empty() ? env.Null() : Napi::String::New(env, s).As<Napi::Value>();
  };
  // Facts only: which library, which prototypes it has, and what the hypervisor says it is.
  // Whether they go together is for the TypeScript layer to judge.
  self.DefineProperties({
      Napi::PropertyDescriptor::Value("libraryPath",
                                      Napi::String::New(env, opened->library->path()), ro),
      Napi::PropertyDescriptor::Value("librarySoname", string_or_null(id.soname), ro),
      Napi::PropertyDescriptor::Value("librarySymbolVersion", string_or_null(id.upload_version),
                                      ro),
      Napi::PropertyDescriptor::Value("libraryMajor", Napi::Number::New(env, release >> 16), ro),
      Napi::PropertyDescriptor::Value("libraryMinor", Napi::Number::New(env, release & 0xffff),
                                      ro),
      Napi::PropertyDescriptor::Value(
          "generation", Napi::String::New(env, GenerationName(opened->generation)), ro),
      Napi::PropertyDescriptor::Value("xenMajor",
                                      Napi::Number::New(env, opened->xen_version >> 16), ro),
      Napi::PropertyDescriptor::Value("xenMinor",
                                      Napi::Number::New(env, opened->xen_version & 0xffff), ro),
  });
  opened_.reset(opened);
  cls.handing_over = nullptr;
  int64_t ignored;
  external_reported_ = napi_adjust_external_memory(env, kExternalCost, &ignored) == napi_ok;
}

// The finalizer: reached when nothing references the handle (no call is running, since each
// keeps its handle alive), or at environment teardown. A handle dropped without close() still
// releases the interface here. Calls still waiting are dropped unqueued.
Handle::~Handle() {
  for (Call* call : pending_) call->Drop();
  pending_.clear();
  ReleaseInterface();
}

void Handle::ReleaseInterface() {
  opened_.reset();
  if (external_reported_) {
    external_reported_ = false;
    int64_t ignored;
    napi_adjust_external_memory(Env(), -kExternalCost, &ignored);
  }
}

void Handle::CallFinished() {
  if (pending_.empty() || tearing_down_) {
    running_ = false;
    return;
  }
  Call* next = pending_.front();
  pending_.pop_front();
  next->Queue();
}

void Handle::TearDown() {
  tearing_down_ = true;
  running_ = false;
  std::deque<Call*> dropped;
  dropped.swap(pending_);
  for (Call* call : dropped) call->Drop();
  ReleaseInterface();
}

Napi::Value Handle::Submit(Call* call) {
  Napi::Value promise(Env(), call->Promise());
  if (running_) {
    pending_.push_back(call);
  } else {
    running_ = true;
    call->Queue();
  }
  return promise;
}

bool Handle::Refused(Napi::Env env, const char* call, const std::string* payload,
                     Napi::Value* out) {
  if (!closing_ && !tearing_down_) return false;
  CallFailure f;
  f.errnum = EBADF;
  f.call = call;
  if (payload != nullptr) f.payload = *payload;
  *out = RejectedWith(env, f);
  return true;
}

Napi::Value Handle::RejectedWith(Napi::Env env, const CallFailure& failure) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(MakeCallError(env, failure).Value());
  return deferred.Promise();
}

Napi::Value Handle::XenVersion(const Napi::CallbackInfo& info) {
  Napi::Value refused;
  if (Refused(info.Env(), "xenVersion", nullptr, &refused)) return refused;
  return Submit(NewXenVersionCall(this));
}

// Everything cheap is checked before the payload is copied (the copy is the only work on the JS
// thread that grows with the payload): the name, the flag, the handle's state and Xen's size
// limit. A multi-gigabyte Uint8Array is thus refused in constant time, without an allocation
// that could fail or stall the event loop.
Napi::Value Handle::Upload(const Napi::CallbackInfo& info) {
  std::string name = RequireName(info[0], "name");
  const Napi::Uint8Array bytes = RequireUint8Array(info[1], "payload");
  const bool force = RequireBool(info[2], "force");
  Napi::Value refused;
  if (Refused(info.Env(), "upload", &name, &refused)) return refused;
  const std::size_t size = bytes.ByteLength();
  if (size > kLivepatchMaxSize) {
    CallFailure f;
    f.errnum = EINVAL;
    f.call = "upload";
    f.payload = name;
    f.detail = "the payload is " + std::to_string(size) + " bytes; Xen refuses anything over " +
               std::to_string(kLivepatchMaxSize) + " (LIVEPATCH_MAX_SIZE)";
    return RejectedWith(info.Env(), f);
  }
  return Submit(NewUploadCall(this, std::move(name), CopyBytes(bytes), force));
}

Napi::Value Handle::Get(const Napi::CallbackInfo& info) {
  std::string name = RequireName(info[0], "name");
  Napi::Value refused;
  if (Refused(info.Env(), "get", &name, &refused)) return refused;
  return Submit(NewGetCall(this, std::move(name)));
}

Napi::Value Handle::List(const Napi::CallbackInfo& info) {
  Napi::Value refused;
  if (Refused(info.Env(), "list", nullptr, &refused)) return refused;
  return Submit(NewListCall(this));
}

Napi::Value Handle::Action(const Napi::CallbackInfo& info) {
  std::string name = RequireName(info[0], "name");
  const uint32_t cmd = RequireU32(info[1], "action");
  const char* call = ActionCallName(cmd);
  if (call == nullptr) {
    throw Napi::RangeError::New(info.Env(), "action must be 1 (UNLOAD), 2 (REVERT), 3 (APPLY) "
                                            "or 4 (REPLACE)");
  }
  const uint32_t timeout_ns = RequireU32(info[2], "timeoutNs");
  const uint32_t flags = RequireU32(info[3], "flags");
  Napi::Value refused;
  if (Refused(info.Env(), call, &name, &refused)) return refused;
  return Submit(NewActionCall(this, call, cmd, std::move(name), timeout_ns, flags));
}

Napi::Value Handle::ReadConsole(const Napi::CallbackInfo& info) {
  const bool incremental = RequireBool(info[0], "incremental");
  Napi::Value refused;
  if (Refused(info.Env(), "readConsole", nullptr, &refused)) return refused;
  return Submit(NewReadConsoleCall(this, incremental));
}

Napi::Value Handle::SendDebugKeys(const Napi::CallbackInfo& info) {
  std::string keys = RequireDebugKeys(info[0], "keys");
  Napi::Value refused;
  if (Refused(info.Env(), "sendDebugKeys", nullptr, &refused)) return refused;
  return Submit(NewSendDebugKeysCall(this, std::move(keys)));
}

// Queued like any call, so it runs after everything submitted before it; a second close() just
// waits for the first.
Napi::Value Handle::Close(const Napi::CallbackInfo& info) {
  closing_ = true;
  return Submit(NewCloseCall(this));
}

}  // namespace xlp
