#include "core/base/crypto_hmac.hpp"

#include "core/base/error.hpp"

#include <fmt/format.h>

// clang-format off
#include <windows.h>
#include <bcrypt.h>
// clang-format on

#include <algorithm>
#include <limits>

namespace vssimg {

namespace {

// The CNG provider of HMAC-SHA-256, opened once per process (a provider handle is
// thread-safe; each hash object is one thread's).
BCRYPT_ALG_HANDLE hmac_provider() {
  static const BCRYPT_ALG_HANDLE alg = [] {
    BCRYPT_ALG_HANDLE h = nullptr;
    NTSTATUS st = BCryptOpenAlgorithmProvider(&h, BCRYPT_SHA256_ALGORITHM, nullptr,
                                              BCRYPT_ALG_HANDLE_HMAC_FLAG);
    if (!BCRYPT_SUCCESS(st)) {
      throw Error("hashing a block", "CNG HMAC-SHA-256",
                  fmt::format("BCryptOpenAlgorithmProvider failed (NTSTATUS 0x{:08x})",
                              static_cast<unsigned long>(st)));
    }
    return h;
  }();
  return alg;
}

}  // namespace

void hmac_sha256(const uint8_t* key, size_t key_len, const void* data, size_t len, uint8_t* out) {
  BCRYPT_HASH_HANDLE h = nullptr;
  NTSTATUS st = BCryptCreateHash(hmac_provider(), &h, nullptr, 0, const_cast<PUCHAR>(key),
                                 static_cast<ULONG>(key_len), 0);
  const auto* p = static_cast<const uint8_t*>(data);
  while (BCRYPT_SUCCESS(st) && len > 0) {
    const ULONG n = static_cast<ULONG>(std::min<size_t>(len, std::numeric_limits<ULONG>::max()));
    st = BCryptHashData(h, const_cast<PUCHAR>(p), n, 0);
    p += n;
    len -= n;
  }
  if (BCRYPT_SUCCESS(st)) st = BCryptFinishHash(h, out, 32, 0);
  if (h) BCryptDestroyHash(h);
  if (!BCRYPT_SUCCESS(st)) {
    throw Error("hashing a block", "CNG HMAC-SHA-256",
                fmt::format("failed (NTSTATUS 0x{:08x})", static_cast<unsigned long>(st)));
  }
}

}  // namespace vssimg
