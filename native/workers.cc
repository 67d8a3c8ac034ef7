#include "workers.h"

#include <cerrno>
#include <cstring>
#include <new>

#include "handle.h"
#include "js_object.h"
#include "list_walk.h"
#include "settle.h"

namespace xlp {
namespace {

int CurrentErrno() { return errno > 0 ? errno : EIO; }

// xc_version returns -1 with errno from the hypercall, but some of its own checks return a
// negative errno value directly without setting errno.
int VersionErrno(int rc) { return rc == -1 ? CurrentErrno() : -rc; }

const XenctrlApi& Api(Handle* h) { return h->interface().library->api(); }
abi::XcInterface* Xch(Handle* h) { return h->interface().xch; }

}  // namespace

Call::Call(Handle* handle, const char* call, std::optional<std::string> payload)
    : Napi::AsyncWorker(handle->Env(), call),
      handle_(handle),
      keep_alive_(Napi::Persistent(handle->Value())) {
  failure_.call = call;
  failure_.payload = std::move(payload);
  NAPI_THROW_IF_FAILED_VOID(Env(), napi_create_promise(Env(), &deferred_, &promise_));
}

void Call::Fail(int errnum, const std::string& detail) {
  failed_ = true;
  failure_.errnum = errnum > 0 ? errnum : EIO;
  if (!detail.empty()) {
    failure_.detail = detail;
  } else if (handle_->open()) {
    CaptureLogger::Message m = handle_->interface().logger->Last();
    if (m.present) failure_.detail = "libxenctrl: " + m.text;
  }
}

bool Call::Check(int rc) {
  if (rc == 0) return true;
  Fail(CurrentErrno());
  return false;
}

// No C++ exception may leave this function: it is called from libuv's C code.
void Call::Execute() {
  try {
    if (handle_->open()) handle_->interface().logger->Clear();
    Run();
  } catch (const std::bad_alloc&) {
    Fail(ENOMEM, "the addon ran out of memory");
  } catch (...) {
    Fail(EIO, "internal error in the addon");
  }
}

// Called by libuv (C code): no exception may leave it.
void Call::OnWorkComplete(Napi::Env env, napi_status status) {
  const bool settled = status != napi_cancelled && Settle(env);
  Handle* handle = handle_;
  Destroy();  // before the next call starts: this one no longer uses the interface
  if (settled) {
    handle->CallFinished();
  } else {
    handle->TearDown();
  }
}

bool Call::Settle(napi_env env) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return false;
  bool settled = false;
  napi_value value = nullptr;
  bool reject = failed_;
  try {
    value = failed_ ? MakeCallError(env, failure_).Value() : Result(env);
  } catch (const Napi::Error& e) {
    // Building the result failed with a JS error (e.g. a Buffer V8 would not allocate).
    value = e.Value();
    reject = true;
  } catch (...) {
    value = nullptr;
  }
  if (value == nullptr) {
    // An error of our own, if JS can still run at all.
    napi_value message;
    if (napi_create_string_utf8(env, "internal error in the addon", NAPI_AUTO_LENGTH,
                                &message) != napi_ok ||
        napi_create_error(env, nullptr, message, &value) != napi_ok) {
      value = nullptr;
    }
    reject = true;
  }
  if (value != nullptr) {
    settled = (reject ? napi_reject_deferred(env, deferred_, value)
                      : napi_resolve_deferred(env, deferred_, value)) == napi_ok;
  }
  ClearPendingException(env);
  napi_close_handle_scope(env, scope);
  return settled;
}

namespace {

class XenVersionCall : public Call {
 public:
  explicit XenVersionCall(Handle* h) : Call(h, "xenVersion", std::nullopt) {}

 private:
  // Build-ids are 20 bytes (SHA-1) in practice; Xen answers ENOBUFS beyond the buffer.
  static constexpr uint32_t kBuildIdMax = 1024;

  void Run() override {
    errno = 0;
    const int v = Api(handle_).version(Xch(handle_), abi::kXenverVersion, nullptr);
    if (v < 0) return Fail(VersionErrno(v));
    version_ = static_cast<uint32_t>(v);

    char extra[abi::kExtraVersionSize] = {};
    errno = 0;
    int rc = Api(handle_).version(Xch(handle_), abi::kXenverExtraversion, extra);
    if (rc < 0) return Fail(VersionErrno(rc));
    extra_.assign(extra, strnlen(extra, sizeof extra));

    std::vector<uint8_t> buf(abi::kBuildIdBufOffset + kBuildIdMax);
    const abi::BuildIdHeader header{kBuildIdMax};
    std::memcpy(buf.data(), &header, sizeof header);
    errno = 0;
    rc = Api(handle_).version(Xch(handle_), abi::kXenverBuildId, buf.data());
    if (rc < 0) {
      const int err = VersionErrno(rc);
      if (err == ENODATA) return;  // built without a build-id
      return Fail(err);
    }
    if (static_cast<uint32_t>(rc) > kBuildIdMax) return Fail(EOVERFLOW);
    if (rc > 0) {
      const uint8_t* id = buf.data() + abi::kBuildIdBufOffset;
      build_id_.emplace(id, id + rc);
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    Define(o, "major", Napi::Number::New(env, version_ >> 16));
    Define(o, "minor", Napi::Number::New(env, version_ & 0xffff));
    Define(o, "extra", Napi::String::New(env, extra_));
    Define(o, "buildId", build_id_ ? Napi::Buffer<uint8_t>::Copy(env, build_id_->data(),
                                                                 build_id_->size())
                                         .As<Napi::Value>()
                                   : env.Null());
    return o;
  }

  uint32_t version_ = 0;
  std::string extra_;
  std::optional<std::vector<uint8_t>> build_id_;
};

class UploadCall : public Call {
 public:
  UploadCall(Handle* h, std::string name, std::vector<uint8_t> payload, bool force)
      : Call(h, "upload", name), name_(std::move(name)), payload_(std::move(payload)),
        force_(force) {}

 private:
  void Run() override {
    // The library's prototype decides whether a force flag can be passed at all; whether it
    // should be (the hypervisor's generation) is decided in TypeScript before we get here.
    const abi::Generation generation = handle_->interface().generation;
    if (force_ && generation == abi::Generation::kXen414) {
      return Fail(EOPNOTSUPP, "this libxenctrl's xc_livepatch_upload has no force parameter "
                              "(it came with 4.19)");
    }
    // An empty payload still goes to Xen (which refuses it with EINVAL), with a valid pointer.
    unsigned char none = 0;
    unsigned char* data = payload_.empty() ? &none : payload_.data();
    errno = 0;
    Check(Api(handle_).Upload(generation, Xch(handle_), name_.data(), data,
                              static_cast<uint32_t>(payload_.size()), force_));
  }

  std::string name_;
  std::vector<uint8_t> payload_;
  bool force_;
};

class GetCall : public Call {
 public:
  GetCall(Handle* h, std::string name) : Call(h, "get", name), name_(std::move(name)) {}

 private:
  void Run() override {
    errno = 0;
    Check(Api(handle_).livepatch_get(Xch(handle_), name_.data(), &status_));
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    Define(o, "state", Napi::Number::New(env, status_.state));
    Define(o, "rc", Napi::Number::New(env, status_.rc));
    return o;
  }

  std::string name_;
  abi::LivepatchStatus status_{};
};

class ListCall : public Call {
 public:
  explicit ListCall(Handle* h) : Call(h, "list", std::nullopt) {}

 private:
  void Run() override {
    result_ = ListAll(Api(handle_), Xch(handle_), handle_->interface().generation);
    if (result_.error != 0) Fail(result_.error, result_.detail);
  }

  // Each name both as text (decoded as UTF-8; bytes that are not UTF-8 become U+FFFD, so two
  // payloads can show the same text) and as the exact bytes Xen holds, which calls accept back.
  Napi::Value Result(Napi::Env env) override {
    return DefineArray(env, static_cast<uint32_t>(result_.payloads.size()), [&](uint32_t i) {
      const ListedPayload& p = result_.payloads[i];
      Napi::Object o = Napi::Object::New(env);
      Define(o, "name", Napi::String::New(env, p.name));
      Define(o, "nameBytes", Napi::Buffer<char>::Copy(env, p.name.data(), p.name.size()));
      Define(o, "state", Napi::Number::New(env, p.state));
      Define(o, "rc", Napi::Number::New(env, p.rc));
      Define(o, "metadata",
             Napi::Buffer<uint8_t>::Copy(env, p.metadata.data(), p.metadata.size()));
      return o.As<Napi::Value>();
    });
  }

  ListResult result_;
};

class ActionCall : public Call {
 public:
  ActionCall(Handle* h, const char* call, uint32_t cmd, std::string name, uint32_t timeout_ns,
             uint32_t flags)
      : Call(h, call, name), cmd_(cmd), name_(std::move(name)), timeout_ns_(timeout_ns),
        flags_(flags) {}

 private:
  void Run() override {
    const XenctrlApi& api = Api(handle_);
    abi::LivepatchAction* fn = cmd_ == abi::kLivepatchActionUnload   ? api.livepatch_unload
                               : cmd_ == abi::kLivepatchActionRevert ? api.livepatch_revert
                               : cmd_ == abi::kLivepatchActionApply  ? api.livepatch_apply
                                                                     : api.livepatch_replace;
    errno = 0;
    Check(fn(Xch(handle_), name_.data(), timeout_ns_, flags_));
  }

  uint32_t cmd_;
  std::string name_;
  uint32_t timeout_ns_;
  uint32_t flags_;
};

class ReadConsoleCall : public Call {
 public:
  ReadConsoleCall(Handle* h, bool incremental)
      : Call(h, "readConsole", std::nullopt), incremental_(incremental) {}

 private:
  static constexpr unsigned kChunk = 64 * 1024;
  static constexpr std::size_t kMaxText = 16u << 20;

  // Xen copies at most the buffer's size, oldest characters first, and returns the index where
  // it stopped; a full buffer means there may be more, which an incremental read from that index
  // returns. So the text is read chunk by chunk rather than by guessing the ring's size.
  void Run() override {
    uint32_t index = incremental_ ? handle_->console_index() : 0;
    int incremental = incremental_ ? 1 : 0;
    std::vector<char> chunk(kChunk);
    for (;;) {
      unsigned int nr = kChunk;
      errno = 0;
      if (!Check(Api(handle_).readconsolering(Xch(handle_), chunk.data(), &nr, 0, incremental,
                                              &index))) {
        return;
      }
      if (nr > kChunk) return Fail(EOVERFLOW, "the console read returned more than asked for");
      text_.insert(text_.end(), chunk.data(), chunk.data() + nr);
      if (nr < kChunk || text_.size() >= kMaxText) break;
      incremental = 1;
    }
    if (incremental_) handle_->console_index() = index;
  }

  Napi::Value Result(Napi::Env env) override {
    return Napi::Buffer<char>::Copy(env, text_.data(), text_.size());
  }

  bool incremental_;
  std::vector<char> text_;
};

class SendDebugKeysCall : public Call {
 public:
  SendDebugKeysCall(Handle* h, std::string keys)
      : Call(h, "sendDebugKeys", std::nullopt), keys_(std::move(keys)) {}

 private:
  void Run() override {
    errno = 0;
    Check(Api(handle_).send_debug_keys(Xch(handle_), keys_.c_str()));
  }

  std::string keys_;
};

class CloseCall : public Call {
 public:
  explicit CloseCall(Handle* h) : Call(h, "close", std::nullopt) {}

 private:
  void Run() override {
    if (handle_->open()) handle_->interface().Close();
  }

  // The library reference and the logger go on the JS thread, once no call can use them.
  Napi::Value Result(Napi::Env env) override {
    handle_->ReleaseInterface();
    return env.Undefined();
  }
};

}  // namespace

Call* NewXenVersionCall(Handle* h) { return new XenVersionCall(h); }
Call* NewUploadCall(Handle* h, std::string name, std::vector<uint8_t> payload, bool force) {
  return new UploadCall(h, std::move(name), std::move(payload), force);
}
Call* NewGetCall(Handle* h, std::string name) { return new GetCall(h, std::move(name)); }
Call* NewListCall(Handle* h) { return new ListCall(h); }
Call* NewActionCall(Handle* h, const char* call, uint32_t cmd, std::string name,
                    uint32_t timeout_ns, uint32_t flags) {
  return new ActionCall(h, call, cmd, std::move(name), timeout_ns, flags);
}
Call* NewReadConsoleCall(Handle* h, bool incremental) {
  return new ReadConsoleCall(h, incremental);
}
Call* NewSendDebugKeysCall(Handle* h, std::string keys) {
  return new SendDebugKeysCall(h, std::move(keys));
}
Call* NewCloseCall(Handle* h) { return new CloseCall(h); }

}  // namespace xlp
