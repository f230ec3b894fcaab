// The store's config file (docs/format.md, "config"; layout in image/format.hpp).
#pragma once

#include "image/format.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace vssimg {

inline constexpr uint32_t k_known_required_features = 0;
// Required feature bit of an encrypted store (docs/format.md, "Encryption"). Store adds it
// to the features it knows when the build has libsodium (crypto_available()); a build
// without refuses such a store (exit 10).
inline constexpr uint32_t k_feature_encrypted = 0x1;
inline constexpr uint32_t k_min_block_size = 64 * 1024;
inline constexpr uint32_t k_max_block_size = 4 * 1024 * 1024;
inline constexpr size_t k_config_size = config_layout::k_size;
// Default block size, chosen by measurement: docs/benchmarks.md, "Block size".
inline constexpr uint32_t k_default_block_size = 256 * 1024;

using StoreId = std::array<uint8_t, k_id_size>;

struct StoreConfig {
  uint32_t version = k_format_version;
  uint32_t required_features = 0;
  uint32_t compatible_features = 0;
  uint32_t block_size = 0;
  StoreId store_id{};
  int64_t created = 0;
  std::vector<uint8_t> secret;
};

std::vector<uint8_t> encode_config(const StoreConfig& config);
// Parses and checks a config file's bytes. Throws Error: store_not_found for a wrong
// magic, newer_format for a newer version or an unknown required feature, damage for a
// bad checksum or field.
// `known`: the required features the caller understands.
StoreConfig decode_config(const uint8_t* data, size_t len, const std::string& name,
                          uint32_t known = k_known_required_features);
bool valid_block_size(uint64_t size);

}  // namespace vssimg
