// What crypto.cpp (libsodium) and crypto_none.cpp (a build without it) share: the
// associated data of a sealed record and the master key's lifetime (wiped when it ends).
#include "core/base/bytes.hpp"
#include "core/base/crypto.hpp"

namespace vssimg {

std::vector<uint8_t> seal_ad(const std::array<uint8_t, 16>& store_id, SealKind kind,
                             const void* identity, size_t identity_len) {
  std::vector<uint8_t> ad(store_id.begin(), store_id.end());
  put_u32(ad, static_cast<uint32_t>(kind));
  if (identity_len) put_bytes(ad, identity, identity_len);
  return ad;
}

MasterKey::MasterKey() = default;
MasterKey::~MasterKey() {
  secure_wipe(m_key.data(), m_key.size());
}
MasterKey::MasterKey(MasterKey&& other) noexcept : m_key(other.m_key) {
  secure_wipe(other.m_key.data(), other.m_key.size());
}

}  // namespace vssimg
