#include "open.h"

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "args.h"
#include "errors.h"
#include "handle.h"

namespace xlp {
namespace {

constexpr const char* kLibraryEnv = "XEN_LIVEPATCH_LIBXENCTRL";

class OpenWorker : public Napi::AsyncWorker {
 public:
  OpenWorker(Napi::Env env, std::optional<std::string> library, std::string library_source)
      : Napi::AsyncWorker(env, "open"),
        deferred_(Napi::Promise::Deferred::New(env)),
        library_(std::move(library)),
        library_source_(std::move(library_source)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

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

    auto opened = std::make_unique<OpenedInterface>();
    opened->library = library;
    opened->logger = std::make_unique<CaptureLogger>();
    const XenctrlApi& api = library->api();
    errno = 0;
    opened->xch = api.interface_open(opened->logger->c_logger(), nullptr, 0);
    if (opened->xch == nullptr) {
      const CaptureLogger::Message m = opened->logger->Last();
      // libxenctrl closes what it had opened before returning, which can clobber errno; the
      // errno it logged with is the one that made the open fail.
      int err = m.present && m.errnoval > 0 ? m.errnoval : errno;
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
    const auto generation = GenerationFor(static_cast<uint32_t>(version));
    if (!generation) {
      Fail("unsupported-version", 0,
           "Xen " + std::to_string(version >> 16) + "." + std::to_string(version & 0xffff) +
               " (through " + library->path() +
               ") is not supported: this build knows the livepatch interface of Xen 4.14 "
               "to 4.18, 4.19 to 4.20, and 4.21 onwards");
      return;
    }
    opened->generation = *generation;
    opened->xen_version = static_cast<uint32_t>(version);
    opened_ = std::move(opened);
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      if (failed_) {
        deferred_.Reject(MakeOpenError(env, failure_).Value());
      } else {
        deferred_.Resolve(Handle::NewInstance(env, std::move(opened_)));
      }
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const std::exception& e) {
      deferred_.Reject(Napi::Error::New(env, e.what()).Value());
    }
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

  Napi::Promise::Deferred deferred_;
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
      library = RequireCString(lib, "options.library");
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
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace xlp
