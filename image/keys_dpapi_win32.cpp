// DPAPI keys on Windows: CryptProtectData / CryptUnprotectData in machine scope, without
// UI, the store id as optional entropy (docs/format.md, "Key files", protection 2).
#include "core/os/win32.hpp"
#include "image/keys_dpapi.hpp"

#include <wincrypt.h>  // after <windows.h>: DATA_BLOB, which <dpapi.h> needs

#include <dpapi.h>

#include <cstring>

namespace vssimg {

namespace {

DATA_BLOB blob_of(const uint8_t* data, size_t len) {
  DATA_BLOB b;
  b.cbData = static_cast<DWORD>(len);
  b.pbData = const_cast<BYTE*>(reinterpret_cast<const BYTE*>(data));
  return b;
}

// Frees what CryptProtectData / CryptUnprotectData returned (LocalAlloc), wiping it first.
struct LocalBlob {
  DATA_BLOB blob{0, nullptr};
  ~LocalBlob() {
    if (blob.pbData) {
      SecureZeroMemory(blob.pbData, blob.cbData);
      LocalFree(blob.pbData);
    }
  }
};

}  // namespace

bool dpapi_available() {
  return true;
}

std::vector<uint8_t> dpapi_protect(const MasterKey& master, const StoreId& store_id) {
  DATA_BLOB in = blob_of(master.data(), k_master_key_size);
  DATA_BLOB entropy = blob_of(store_id.data(), store_id.size());
  LocalBlob out;
  if (!CryptProtectData(&in, L"vssimg store key", &entropy, nullptr, nullptr,
                        CRYPTPROTECT_LOCAL_MACHINE | CRYPTPROTECT_UI_FORBIDDEN, &out.blob)) {
    win32::throw_last_error("adding DPAPI key", "this machine", "CryptProtectData");
  }
  return std::vector<uint8_t>(out.blob.pbData, out.blob.pbData + out.blob.cbData);
}

bool dpapi_unprotect(const std::vector<uint8_t>& blob, const StoreId& store_id, MasterKey& out,
                     std::string& why) {
  DATA_BLOB in = blob_of(blob.data(), blob.size());
  DATA_BLOB entropy = blob_of(store_id.data(), store_id.size());
  LocalBlob plain;
  if (!CryptUnprotectData(&in, nullptr, &entropy, nullptr, nullptr, CRYPTPROTECT_UI_FORBIDDEN,
                          &plain.blob)) {
    why = win32::describe_win32_error("CryptUnprotectData", GetLastError());
    return false;
  }
  if (plain.blob.cbData != k_master_key_size) {
    why = "CryptUnprotectData: the protected key has a wrong size";
    return false;
  }
  std::memcpy(out.data(), plain.blob.pbData, k_master_key_size);
  return true;
}

}  // namespace vssimg
