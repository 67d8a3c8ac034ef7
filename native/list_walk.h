// LIST: a consistent snapshot of every payload, built from libxenctrl's size probe and paging list
// call, restarted when the payload list changes underneath us.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "xenctrl_lib.h"

namespace xlp {

struct ListedPayload {
  std::string name;  // raw bytes, without the NUL
  uint32_t state = 0;
  int32_t rc = 0;
  std::vector<uint8_t> metadata;
};

struct ListResult {
  int error = 0;       // positive errno, or 0
  std::string detail;  // why, when the errno alone does not say it
  std::vector<ListedPayload> payloads;
};

// How many times the whole probe+list is attempted before giving up with EBUSY.
constexpr unsigned kListAttempts = 8;

// `generation` is the library's: from 4.21 it passes our buffer sizes to Xen, which enforces them.
ListResult ListAll(const XenctrlApi& api, abi::XcInterface* xch, abi::Generation generation);

}  // namespace xlp
