#include "args.h"

#include <cmath>
#include <limits>

#include "xen_abi.h"

namespace xlp {

std::string RequireCString(const Napi::Value& value, const char* what) {
  Napi::Env env = value.Env();
  if (!value.IsString()) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a string");
  }
  std::string s = value.As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) {
    throw Napi::RangeError::New(env, std::string(what) + " must not contain a NUL character");
  }
  return s;
}

std::string RequireName(const Napi::Value& value, const char* what) {
  std::string name = RequireCString(value, what);
  if (name.empty()) {
    throw Napi::RangeError::New(value.Env(), std::string(what) + " must not be empty");
  }
  if (name.size() > abi::kLivepatchNameSize - 1) {
    throw Napi::RangeError::New(value.Env(), std::string(what) + " is " +
                                                 std::to_string(name.size()) +
                                                 " bytes of UTF-8; the limit is 127");
  }
  return name;
}

std::vector<uint8_t> RequireBytes(const Napi::Value& value, const char* what) {
  Napi::Env env = value.Env();
  if (!value.IsTypedArray() ||
      value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a Buffer or Uint8Array");
  }
  auto bytes = value.As<Napi::Uint8Array>();
  if (bytes.ByteLength() > std::numeric_limits<uint32_t>::max()) {
    throw Napi::RangeError::New(env, std::string(what) + " is larger than 4 GiB - 1");
  }
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

}  // namespace xlp
