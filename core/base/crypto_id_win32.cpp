#include "core/base/crypto_id.hpp"

#include "core/base/error.hpp"

#include <fmt/format.h>

// clang-format off
#include <windows.h>
#include <bcrypt.h>
// clang-format on

#include <cstring>
#include <cwchar>
#include <limits>

namespace vssimg {

namespace {

[[noreturn]] void fail(const char* what, const char* call, NTSTATUS st) {
  throw Error("hashing a block", what,
              fmt::format("{} failed (NTSTATUS 0x{:08x})", call, static_cast<unsigned long>(st)));
}

// The CNG AES provider with one chaining mode, opened once per process (a provider handle
// is thread-safe; each key object below is one thread's).
BCRYPT_ALG_HANDLE aes_provider(const wchar_t* mode, const char* what) {
  BCRYPT_ALG_HANDLE h = nullptr;
  NTSTATUS st = BCryptOpenAlgorithmProvider(&h, BCRYPT_AES_ALGORITHM, nullptr, 0);
  if (!BCRYPT_SUCCESS(st)) fail(what, "BCryptOpenAlgorithmProvider", st);
  st = BCryptSetProperty(h, BCRYPT_CHAINING_MODE,
                         reinterpret_cast<PUCHAR>(const_cast<wchar_t*>(mode)),
                         static_cast<ULONG>((std::wcslen(mode) + 1) * sizeof(wchar_t)), 0);
  if (!BCRYPT_SUCCESS(st)) fail(what, "BCryptSetProperty(chaining mode)", st);
  return h;
}

// One key object per thread and primitive, made again only when the key changes (a backup
// hashes every block under one key). Destroyed, and its copy of the key wiped, when the
// thread ends.
struct KeyedHandle {
  BCRYPT_KEY_HANDLE key = nullptr;
  uint8_t bytes[32] = {};
  ~KeyedHandle() {
    if (key) BCryptDestroyKey(key);
    SecureZeroMemory(bytes, sizeof bytes);
  }
  BCRYPT_KEY_HANDLE with(BCRYPT_ALG_HANDLE alg, const uint8_t* k, const char* what) {
    if (key && std::memcmp(bytes, k, sizeof bytes) == 0) return key;
    if (key) BCryptDestroyKey(key);
    key = nullptr;
    NTSTATUS st = BCryptGenerateSymmetricKey(alg, &key, nullptr, 0, const_cast<PUCHAR>(k), 32, 0);
    if (!BCRYPT_SUCCESS(st)) {
      key = nullptr;
      fail(what, "BCryptGenerateSymmetricKey", st);
    }
    std::memcpy(bytes, k, sizeof bytes);
    return key;
  }
};

}  // namespace

void gmac_aes256(const uint8_t* key, const void* data, size_t len, uint8_t* tag) {
  static const BCRYPT_ALG_HANDLE alg = aes_provider(BCRYPT_CHAIN_MODE_GCM, "CNG AES-256-GCM");
  thread_local KeyedHandle h;
  if (len > std::numeric_limits<ULONG>::max()) {
    throw Error("hashing a block", "CNG AES-256-GCM", "block larger than 4 GiB");
  }
  uint8_t nonce[12] = {};
  BCRYPT_AUTHENTICATED_CIPHER_MODE_INFO info;
  BCRYPT_INIT_AUTH_MODE_INFO(info);
  info.pbNonce = nonce;
  info.cbNonce = sizeof nonce;
  info.pbAuthData = static_cast<PUCHAR>(const_cast<void*>(data));
  info.cbAuthData = static_cast<ULONG>(len);
  info.pbTag = tag;
  info.cbTag = 16;
  ULONG written = 0;
  NTSTATUS st = BCryptEncrypt(h.with(alg, key, "CNG AES-256-GCM"), nullptr, 0, &info, nullptr, 0,
                              nullptr, 0, &written, 0);
  if (!BCRYPT_SUCCESS(st)) fail("CNG AES-256-GCM", "BCryptEncrypt", st);
}

void aes256_block(const uint8_t* key, const uint8_t* in, uint8_t* out) {
  static const BCRYPT_ALG_HANDLE alg = aes_provider(BCRYPT_CHAIN_MODE_ECB, "CNG AES-256");
  thread_local KeyedHandle h;
  uint8_t block[16];
  std::memcpy(block, in, sizeof block);  // `out` may be `in`
  ULONG written = 0;
  NTSTATUS st = BCryptEncrypt(h.with(alg, key, "CNG AES-256"), block, sizeof block, nullptr,
                              nullptr, 0, out, 16, &written, 0);
  if (!BCRYPT_SUCCESS(st) || written != 16) fail("CNG AES-256", "BCryptEncrypt", st);
}

}  // namespace vssimg
