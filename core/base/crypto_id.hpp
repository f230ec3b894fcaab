// The two AES-256 primitives of an encrypted store's block id (Sealer::block_id;
// docs/format.md, "Choice of block id"): id = AES-256(K2, GMAC-AES-256(K1, block)). By the
// fastest code each platform has: libcrypto's (AES-NI, PCLMULQDQ, and its portable code
// on other CPUs) elsewhere (crypto_id.cpp), Windows' own CNG there (crypto_id_win32.cpp;
// its speed is not measured here). The same bytes on every platform. Internal to
// core/base.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vssimg {

// The 16-byte GMAC of `data` under the 32-byte `key`: the tag of AES-256-GCM (NIST SP
// 800-38D) with the all-zero 96-bit nonce, `data` as associated data and no plaintext,
// into `tag`. Throws Error when the platform's cipher fails. Thread-safe.
void gmac_aes256(const uint8_t* key, const void* data, size_t len, uint8_t* tag);

// One AES-256 block (FIPS 197) of `in` under the 32-byte `key` into `out` (16 bytes each;
// they may be the same). Throws Error when the platform's cipher fails. Thread-safe.
void aes256_block(const uint8_t* key, const uint8_t* in, uint8_t* out);

}  // namespace vssimg
