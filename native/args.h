// Argument checks done on the JS thread, before any work is queued or any library is called:
// anything JS passes either becomes a well-formed C value or a TypeError/RangeError. Lengths are
// checked before anything is converted or copied, so no argument, however large, costs more than
// a bounded amount of work or memory here.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace xlp {

// A payload name, as the bytes Xen gets: a string (sent as UTF-8) or a Uint8Array/Buffer (sent as
// is, for names that are not UTF-8), of 1..127 bytes without NUL (XEN_LIVEPATCH_NAME_SIZE is 128
// with the terminator).
std::string RequireName(const Napi::Value& value, const char* what);

// A Uint8Array (Buffer included), not copied yet: check its length first.
Napi::Uint8Array RequireUint8Array(const Napi::Value& value, const char* what);
// A copy of its bytes: the JS memory may change while the call runs.
std::vector<uint8_t> CopyBytes(const Napi::Uint8Array& bytes);

// An integer number in [0, 2^32-1].
uint32_t RequireU32(const Napi::Value& value, const char* what);

bool RequireBool(const Napi::Value& value, const char* what);

// A string without NUL (the C side measures it with strlen), of at most `max_bytes` of UTF-8.
std::string RequireCString(const Napi::Value& value, const char* what, std::size_t max_bytes);

// Debug keys: at most kMaxDebugKeys of them. Xen presses each key inside one hypercall that is
// not preempted, and libxenctrl measures the string with an int, so the length is capped.
constexpr std::size_t kMaxDebugKeys = 64;
std::string RequireDebugKeys(const Napi::Value& value, const char* what);

}  // namespace xlp
