// Argument checks done on the JS thread, before any work is queued or any library is called:
// anything JS passes either becomes a well-formed C value or a TypeError/RangeError.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace xlp {

// A payload name: a string of 1..127 UTF-8 bytes without NUL (XEN_LIVEPATCH_NAME_SIZE is 128
// with the terminator).
std::string RequireName(const Napi::Value& value, const char* what);

// A Uint8Array (Buffer included), copied: the JS memory may change while the call runs.
// Its length must fit the u32 size libxenctrl takes.
std::vector<uint8_t> RequireBytes(const Napi::Value& value, const char* what);

// An integer number in [0, 2^32-1].
uint32_t RequireU32(const Napi::Value& value, const char* what);

bool RequireBool(const Napi::Value& value, const char* what);

// A string without NUL (the C side measures it with strlen).
std::string RequireCString(const Napi::Value& value, const char* what);

}  // namespace xlp
