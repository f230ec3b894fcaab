// DPAPI (Windows): a store's master key protected for this machine (docs/format.md, "Key
// files", protection 2). keys_dpapi_win32.cpp calls CryptProtectData with
// CRYPTPROTECT_LOCAL_MACHINE; keys_dpapi_posix.cpp has none.
#pragma once

#include "core/base/crypto.hpp"
#include "image/config.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace vssimg {

// True where DPAPI exists (Windows).
bool dpapi_available();

// The master key protected for this machine, optional entropy = the store id. Throws
// Error(usage) "DPAPI keys exist only on Windows" elsewhere, Error naming the API on failure.
std::vector<uint8_t> dpapi_protect(const MasterKey& master, const StoreId& store_id);

// Unprotects `blob` into `out`; false (and `why`) when it does not open here: another
// machine, another store, a damaged blob, or no DPAPI at all.
bool dpapi_unprotect(const std::vector<uint8_t>& blob, const StoreId& store_id, MasterKey& out,
                     std::string& why);

}  // namespace vssimg
