// HMAC-SHA-256 (RFC 2104), the block id of encrypted stores (Sealer::block_id), by the
// fastest SHA-256 each platform has: libcrypto's (SHA-NI) where the build finds it,
// libsodium's otherwise (crypto_hmac.cpp); Windows' own CNG there, not libsodium's
// portable code (crypto_hmac_win32.cpp; its speed is not measured here). The same bytes on every
// platform. Internal to core/base.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vssimg {

// The 32-byte HMAC-SHA-256 of `data` under `key` (at most 64 bytes) into `out`. Throws
// Error when the platform's hash fails. Thread-safe.
void hmac_sha256(const uint8_t* key, size_t key_len, const void* data, size_t len, uint8_t* out);

}  // namespace vssimg
