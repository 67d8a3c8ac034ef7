// Building the objects the addon hands to JS. Properties are defined, never assigned: an
// assignment ([[Set]]) runs any setter a program put on Object.prototype or Array.prototype
// (for `state`, `errno`, `0`, ...), which could swallow the value or run code in the middle of
// building a result. Defining ([[DefineOwnProperty]]) never consults the prototype chain.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace xlp {

// An ordinary data property: writable, enumerable, configurable, as an assignment would make.
inline void Define(Napi::Object object, const char* key, Napi::Value value) {
  object.DefineProperty(Napi::PropertyDescriptor::Value(key, value, napi_default_jsproperty));
}

// An array of `count` elements defined one by one (`at(i)` gives element i).
template <typename At>
Napi::Array DefineArray(Napi::Env env, uint32_t count, At at) {
  Napi::Array array = Napi::Array::New(env, count);
  for (uint32_t i = 0; i < count; ++i) {
    array.DefineProperty(Napi::PropertyDescriptor::Value(
        Napi::String::New(env, std::to_string(i)), at(i), napi_default_jsproperty));
  }
  return array;
}

}  // namespace xlp
