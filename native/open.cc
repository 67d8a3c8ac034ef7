#include "open.h"

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "args.h"
#include "errors.h"
#include "handle.h"
#include "settle.h"

namespace xlp {
namespace {

constexpr const char* kLibraryEnv = "XEN_LIVEPATCH_LIBXENCTRL";
// PATH_MAX: dlopen could not open a longer path anyway.
constexpr std::size_t kMaxLibraryPath = 4096;

class OpenWorker : public Napi::AsyncWorker {
 public:
  // Throws (on the JS thread, into JS) if the promise cannot be made.
  OpenWorker(Napi::Env env, std::optional<std::string> library, std::string library_source)
      : Napi::AsyncWorker(env, "open"),
        library_(std::move(library)),
        library_source_(std::move(library_source)) {
    NAPI_THROW_IF_FAILED_VOID(env, napi_create_promise(env, &deferred_, &promise_));
  }

  napi_value Promise() const { return promise_; }

 private:
  void Fail(const char* reason, int errnum, std::string message) {
    failed_ = true;
    failure_.reason = reason;
    failure_.errnum = errnum;
    failure_.message = std::move(message);
  }

  void Execute() override {
    try {
      Open();
    } catch (const std::bad_alloc&) {
      Fail("open-failed", ENOMEM, "the addon ran out of memory while opening libxenctrl");
    } catch (...) {
      Fail("open-failed", EIO, "internal error in the addon while opening libxenctrl");
    }
  }

  void Open() {
    LoadFailure lf;
    std::shared_ptr<XenctrlLibrary> library =
        XenctrlLibrary::Load(library_ ? &*library_ : nullptr, &lf);
    if (!library) {
      const std::string where = library_ ? " from " + library_source_ : "";
      Fail(lf.incomplete ? "unsupported-version" : "library-not-found", 0,
           "libxenctrl could not be loaded" + where + " (tried " + lf.message + ")");
      failure_.tried = lf.tried;
      return;
    }

    // The upload prototype is the library's (its release), never the hypervisor's.
    const std::optional<abi::Generation> generation = library->generation();
    if (!generation) {
      const LibraryIdentity& id = library->identity();
      const std::string said =
          id.release ? "libxenctrl " + std::to_string(*id.release >> 16) + "." +
                           std::to_string(*id.release & 0xffff)
                     : "a libxenctrl whose release is unknown (soname \"" + id.soname +
                           "\", xc_livepatch_upload version \"" + id.upload_version + "\")";
      Fail("unsupported-version", 0,
           library->path() + " is " + said +
               ": this build knows the livepatch interface of libxenctrl 4.14 to 4.18, 4.19 "
               "to 4.20, and 4.21 onwards");
      return;
    }

    auto opened = std::make_unique<OpenedInterface>();
    opened->library = library;
    opened->logger = std::make_unique<CaptureLogger>();
    opened->generation = *generation;
    const XenctrlApi& api = library->api();
    errno = 0;
    opened->xch = api.interface_open(opened->logger->c_logger(), nullptr, 0);
    if (opened->xch == nullptr) {
      // Before anything else runs: building the messages below allocates, which may set errno.
      const int open_errno = errno;
      const CaptureLogger::Message m = opened->logger->Last();
      // libxenctrl closes what it had opened before returning, which can clobber errno; the
      // errno it logged with is the one that made the open fail.
      int err = m.present && m.errnoval > 0 ? m.errnoval : open_errno;
      if (err <= 0) err = EIO;
      const std::string said = m.present ? " (" + library->path() + ": " + m.text + ")" : "";
      if (err == ENOENT || err == ENXIO || err == ENODEV) {
        Fail("not-xen", err,
             "Xen is not available: /dev/xen/privcmd is missing, so this is not a Xen dom0" +
                 said);
      } else if (err == EACCES || err == EPERM) {
        Fail("permission-denied", err,
             "Xen is not available: permission denied on /dev/xen/privcmd (run as root in "
             "dom0)" + said);
      } else {
        Fail("open-failed", err,
             "Xen is not available: xc_interface_open failed: " + ErrnoText(err) + " (" +
                 ErrnoName(err) + ")" + said);
      }
      return;
    }

    errno = 0;
    const int version = api.version(opened->xch, abi::kXenverVersion, nullptr);
    if (version < 0) {
      const int err = version == -1 && errno > 0 ? errno : (version == -1 ? EIO : -version);
      Fail("open-failed", err,
           "Xen is not available: xc_version(XENVER_version) failed: " + ErrnoText(err) + " (" +
               ErrnoName(err) + ")");
      return;
    }
    // Whether this build supports that hypervisor is the TypeScript layer's call; here it is a
    // fact reported with the handle.
    opened->xen_version = static_cast<uint32_t>(version);
    opened_ = std::move(opened);
  }

  // JS thread, once Execute() is done. Nothing may throw out of here (libuv's C code called
  // us), and at environment teardown (a worker terminated or exiting) JS can no longer run: the
  // promise cannot be settled, no handle is made, and the interface is closed right here.
  void OnWorkComplete(Napi::Env env, napi_status status) override {
    if (status != napi_cancelled) Settle(env);
    opened_.reset();  // closes the interface unless a handle took it over
    Destroy();
  }

  void Settle(napi_env env) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    try {
      if (failed_) {
        napi_reject_deferred(env, deferred_, MakeOpenError(env, failure_).Value());
      } else {
        Napi::Object handle = Handle::NewInstance(env, std::move(opened_));
        if (napi_resolve_deferred(env, deferred_, handle) != napi_ok) {
          // The handle exists but nobody can have it: close() its interface now rather than
          // leaving it to the handle's finalizer.
          Handle::Unwrap(handle)->Abandon();
        }
      }
    } catch (const Napi::Error& e) {
      RejectIfPossible(env, e.Value());
    } catch (const std::exception& e) {
      RejectIfPossible(env, nullptr);
    } catch (...) {
      RejectIfPossible(env, nullptr);
    }
    ClearPendingException(env);
    napi_close_handle_scope(env, scope);
  }

  // Rejects with `error` (or a generic Error) if JS can still run; otherwise does nothing.
  void RejectIfPossible(napi_env env, napi_value error) {
    napi_value e = error;
    if (e == nullptr) {
      napi_value message;
      if (napi_create_string_utf8(env, "internal error in the addon while opening libxenctrl",
                                  NAPI_AUTO_LENGTH, &message) != napi_ok ||
          napi_create_error(env, nullptr, message, &e) != napi_ok) {
        return;
      }
    }
    napi_reject_deferred(env, deferred_, e);
  }

  napi_deferred deferred_ = nullptr;
  napi_value promise_ = nullptr;  // only valid in the scope that created the worker
  std::optional<std::string> library_;
  std::string library_source_;
  std::unique_ptr<OpenedInterface> opened_;  // closed by its destructor if never handed over
  OpenFailure failure_;
  bool failed_ = false;
};

}  // namespace

Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::optional<std::string> library;
  std::string source;
  const Napi::Value options = info[0];
  if (!options.IsUndefined()) {
    if (!options.IsObject()) throw Napi::TypeError::New(env, "options must be an object");
    const Napi::Value lib = options.As<Napi::Object>().Get("library");
    if (!lib.IsUndefined()) {
      library = RequireCString(lib, "options.library", kMaxLibraryPath);
      if (library->empty()) throw Napi::RangeError::New(env, "options.library must not be empty");
      source = "the library option " + *library;
    }
  }
  if (!library) {
    // Read here, on the JS thread, where process.env writes happen.
    const char* env_path = std::getenv(kLibraryEnv);
    if (env_path != nullptr && env_path[0] != '\0') {
      library = env_path;
      source = std::string(kLibraryEnv) + "=" + env_path;
    }
  }
  auto* worker = new OpenWorker(env, std::move(library), std::move(source));
  napi_value promise = worker->Promise();
  worker->Queue();
  return Napi::Value(env, promise);
}

}  // namespace xlp
