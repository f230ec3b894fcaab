#include "core/base/hash.hpp"

#include "core/base/bytes.hpp"
#include "core/base/crypto.hpp"
#include "core/base/error.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstring>
#include <utility>

namespace vssimg {

BlockId BlockId::zero_marker() {
  return BlockId{};
}
BlockId BlockId::free_marker() {
  BlockId id;
  id.bytes.fill(0xff);
  return id;
}
BlockId BlockId::unreadable_marker() {
  BlockId id = free_marker();
  id.bytes[15] = 0xfe;
  return id;
}
bool BlockId::is_zero() const {
  return *this == zero_marker();
}
bool BlockId::is_free() const {
  return *this == free_marker();
}
bool BlockId::is_unreadable() const {
  return *this == unreadable_marker();
}
std::string BlockId::hex() const {
  return to_hex(bytes.data(), bytes.size());
}
uint64_t BlockId::prefix64() const {
  return get_u64(bytes.data());
}

BlockHasher::BlockHasher(const std::vector<uint8_t>& secret) : m_secret(secret) {
  if (m_secret.size() < XXH3_SECRET_SIZE_MIN) {
    throw Error("hashing", "store secret", "secret is shorter than XXH3 requires");
  }
}

BlockHasher::BlockHasher(std::shared_ptr<const Sealer> sealer) : m_sealer(std::move(sealer)) {}

BlockId BlockHasher::hash(const void* data, size_t len) const {
  if (m_sealer) return m_sealer->block_id(data, len);
  XXH128_hash_t h = XXH3_128bits_withSecret(data, len, m_secret.data(), m_secret.size());
  BlockId id;
  // Canonical big-endian order, as xxhsum prints it.
  XXH128_canonical_t canon;
  XXH128_canonicalFromHash(&canon, h);
  std::memcpy(id.bytes.data(), canon.digest, 16);
  // A data block never carries a marker id; flip one bit in the (2^-126 likely) case.
  if (id.is_marker()) id.bytes[7] ^= 0x01;
  return id;
}

uint64_t checksum64(const void* data, size_t len) {
  return XXH3_64bits(data, len);
}

Checksum64::Checksum64() : m_state(XXH3_createState()) {
  XXH3_64bits_reset(static_cast<XXH3_state_t*>(m_state));
}
Checksum64::~Checksum64() {
  XXH3_freeState(static_cast<XXH3_state_t*>(m_state));
}
void Checksum64::update(const void* data, size_t len) {
  XXH3_64bits_update(static_cast<XXH3_state_t*>(m_state), data, len);
}
uint64_t Checksum64::digest() const {
  return XXH3_64bits_digest(static_cast<XXH3_state_t*>(m_state));
}

bool is_all_zero(const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  size_t i = 0;
  // Word-wise OR; the compiler vectorises the inner loop.
  for (; i + 64 <= len; i += 64) {
    uint64_t acc = 0;
    for (size_t j = 0; j < 64; j += 8) {
      uint64_t w;
      std::memcpy(&w, p + i + j, 8);
      acc |= w;
    }
    if (acc != 0) return false;
  }
  for (; i < len; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

}  // namespace vssimg
