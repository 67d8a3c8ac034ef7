#include "args.h"

#include <cmath>
#include <cstring>

#include "xen_abi.h"

namespace xlp {
namespace {

constexpr std::size_t kNameMax = abi::kLivepatchNameSize - 1;

// Strings up to this many UTF-16 code units are measured exactly (cheap); longer ones are
// refused on their length alone.
constexpr std::size_t kMeasureLimit = 4096;

// The string's length in UTF-16 code units: V8 knows it without looking at the characters.
std::size_t CodeUnits(const Napi::String& s) {
  std::size_t units = 0;
  NAPI_THROW_IF_FAILED(s.Env(), napi_get_value_string_utf16(s.Env(), s, nullptr, 0, &units), 0);
  return units;
}

std::size_t Utf8Bytes(const Napi::String& s) {
  std::size_t bytes = 0;
  NAPI_THROW_IF_FAILED(s.Env(), napi_get_value_string_utf8(s.Env(), s, nullptr, 0, &bytes), 0);
  return bytes;
}

// A string of at most `max_bytes` of UTF-8, converted only once its size is known to fit. Every
// code unit takes at least one byte of UTF-8, so more code units than `max_bytes` cannot fit.
std::string BoundedUtf8(const Napi::Value& value, const char* what, std::size_t max_bytes) {
  Napi::Env env = value.Env();
  if (!value.IsString()) throw Napi::TypeError::New(env, std::string(what) + " must be a string");
  const Napi::String s = value.As<Napi::String>();
  const std::size_t units = CodeUnits(s);
  if (units > max_bytes) {
    const std::string size =
        units <= kMeasureLimit
            ? std::to_string(Utf8Bytes(s)) + " bytes of UTF-8; the limit is " +
                  std::to_string(max_bytes)
            : std::to_string(units) + " UTF-16 code units; the limit is " +
                  std::to_string(max_bytes) + " bytes of UTF-8";
    throw Napi::RangeError::New(env, std::string(what) + " is " + size);
  }
  std::string out = s.Utf8Value();
  if (out.size() > max_bytes) {
    throw Napi::RangeError::New(env, std::string(what) + " is " + std::to_string(out.size()) +
                                         " bytes of UTF-8; the limit is " +
                                         std::to_string(max_bytes));
  }
  if (out.find('\0') != std::string::npos) {
    throw Napi::RangeError::New(env, std::string(what) + " must not contain a NUL character");
  }
  return out;
}

bool IsUint8Array(const Napi::Value& value) {
  return value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
}

}  // namespace

std::string RequireCString(const Napi::Value& value, const char* what, std::size_t max_bytes) {
  return BoundedUtf8(value, what, max_bytes);
}

std::string RequireName(const Napi::Value& value, const char* what) {
  Napi::Env env = value.Env();
  std::string name;
  if (IsUint8Array(value)) {
    const auto bytes = value.As<Napi::Uint8Array>();
    const std::size_t n = bytes.ByteLength();
    if (n > kNameMax) {
      throw Napi::RangeError::New(env, std::string(what) + " is " + std::to_string(n) +
                                           " bytes; the limit is " + std::to_string(kNameMax));
    }
    if (n > 0) name.assign(reinterpret_cast<const char*>(bytes.Data()), n);
    if (name.find('\0') != std::string::npos) {
      throw Napi::RangeError::New(env, std::string(what) + " must not contain a NUL byte");
    }
  } else if (value.IsString()) {
    name = BoundedUtf8(value, what, kNameMax);
  } else {
    throw Napi::TypeError::New(env, std::string(what) + " must be a string or a Uint8Array");
  }
  if (name.empty()) {
    throw Napi::RangeError::New(env, std::string(what) + " must not be empty");
  }
  return name;
}

Napi::Uint8Array RequireUint8Array(const Napi::Value& value, const char* what) {
  if (!IsUint8Array(value)) {
    throw Napi::TypeError::New(value.Env(), std::string(what) + " must be a Buffer or Uint8Array");
  }
  return value.As<Napi::Uint8Array>();
}

std::vector<uint8_t> CopyBytes(const Napi::Uint8Array& bytes) {
  const uint8_t* data = bytes.Data();
  return data == nullptr ? std::vector<uint8_t>{}
                         : std::vector<uint8_t>(data, data + bytes.ByteLength());
}

uint32_t RequireU32(const Napi::Value& value, const char* what) {
  Napi::Env env = value.Env();
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a number");
  }
  const double d = value.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || std::trunc(d) != d) {
    throw Napi::RangeError::New(env,
                                std::string(what) + " must be an integer from 0 to 4294967295");
  }
  return static_cast<uint32_t>(d);
}

bool RequireBool(const Napi::Value& value, const char* what) {
  if (!value.IsBoolean()) {
    throw Napi::TypeError::New(value.Env(), std::string(what) + " must be a boolean");
  }
  return value.As<Napi::Boolean>().Value();
}

std::string RequireDebugKeys(const Napi::Value& value, const char* what) {
  return BoundedUtf8(value, what, kMaxDebugKeys);
}

}  // namespace xlp
