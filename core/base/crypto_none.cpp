// A build without libsodium (VSSIMG_SODIUM=OFF): plain stores only; anything that needs
// the cryptography of an encrypted store fails with one line.
#include "core/base/crypto.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"

namespace vssimg {

namespace {
[[noreturn]] void unavailable() {
  throw Error("using", "encryption", "this build has no libsodium (built with VSSIMG_SODIUM=OFF)");
}
}  // namespace

bool crypto_available() {
  return false;
}
void random_bytes(void*, size_t) {
  unavailable();
}
void secure_wipe(void* data, size_t len) {
  auto* p = static_cast<volatile uint8_t*>(data);
  for (size_t i = 0; i < len; ++i) p[i] = 0;
}
MasterKey MasterKey::random() {
  unavailable();
}
Sealer::Sealer(const MasterKey&) {
  unavailable();
}
Sealer::~Sealer() = default;
void Sealer::seal(uint8_t*, const void*, size_t, const std::vector<uint8_t>&) const {
  unavailable();
}
std::vector<uint8_t> Sealer::seal(const void*, size_t, const std::vector<uint8_t>&) const {
  unavailable();
}
void Sealer::open(uint8_t*, const void*, size_t, const std::vector<uint8_t>&,
                  const std::string&) const {
  unavailable();
}
std::vector<uint8_t> Sealer::open(const void*, size_t, const std::vector<uint8_t>&,
                                  const std::string&) const {
  unavailable();
}
void Sealer::seal_at(uint8_t*, const uint8_t*, size_t, const uint8_t*, const uint8_t*,
                     size_t) const {
  unavailable();
}
bool Sealer::open_at(uint8_t*, const uint8_t*, size_t, const uint8_t*, const uint8_t*,
                     size_t) const {
  unavailable();
}
ObjectCipher::ObjectCipher(const Sealer&, const uint8_t*) {
  unavailable();
}
ObjectCipher::~ObjectCipher() = default;
void ObjectCipher::seal(uint8_t*, const uint8_t*, size_t, const uint8_t*, const uint8_t*,
                        size_t) const {
  unavailable();
}
bool ObjectCipher::open(uint8_t*, const uint8_t*, size_t, const uint8_t*, const uint8_t*,
                        size_t) const {
  unavailable();
}
BlockId Sealer::block_id(const void*, size_t) const {
  unavailable();
}
std::array<uint8_t, 32> derive_password_key(const std::string&, const PwhashParams&) {
  unavailable();
}
std::vector<uint8_t> wrap_master_key(const MasterKey&, const std::array<uint8_t, 32>&,
                                     const std::vector<uint8_t>&) {
  unavailable();
}
bool unwrap_master_key(MasterKey&, const uint8_t*, size_t, const std::array<uint8_t, 32>&,
                       const std::vector<uint8_t>&) {
  unavailable();
}

}  // namespace vssimg
