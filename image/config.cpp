#include "image/config.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/base/hash.hpp"

#include <fmt/format.h>

#include <cstring>

namespace vssimg {

namespace layout = config_layout;

bool valid_block_size(uint64_t size) {
  return size >= k_min_block_size && size <= k_max_block_size && (size & (size - 1)) == 0;
}

std::vector<uint8_t> encode_config(const StoreConfig& c) {
  if (c.secret.size() != layout::secret.size) {
    throw Error("encoding config", "", "the hash secret must be 192 bytes");
  }
  std::vector<uint8_t> out(layout::k_size);
  uint8_t* p = out.data();
  std::memcpy(p + layout::magic.offset, layout::k_magic, layout::magic.size);
  set_u32(p + layout::version.offset, c.version);
  set_u32(p + layout::required_features.offset, c.required_features);
  set_u32(p + layout::compatible_features.offset, c.compatible_features);
  set_u32(p + layout::block_size.offset, c.block_size);
  std::memcpy(p + layout::store_id.offset, c.store_id.data(), layout::store_id.size);
  set_u64(p + layout::created.offset, static_cast<uint64_t>(c.created));
  set_u32(p + layout::secret_length.offset, static_cast<uint32_t>(c.secret.size()));
  std::memcpy(p + layout::secret.offset, c.secret.data(), layout::secret.size);
  set_u64(p + layout::checksum.offset, checksum64(p, layout::checksum.offset));
  return out;
}

namespace {
// Magic, version and required features first: a store of a newer format is refused as
// such even when the rest of its config no longer fits this build's layout.
void check_identity(const uint8_t* data, size_t len, const std::string& name, uint32_t known) {
  if (len < layout::required_features.end() ||
      std::memcmp(data + layout::magic.offset, layout::k_magic, layout::magic.size) != 0) {
    throw Error(ErrorKind::store_not_found, "opening store", name,
                "not a vssimg store (bad magic)");
  }
  uint32_t version = get_u32(data + layout::version.offset);
  check_format_version(FormatKind::store, version, name);
  if (version == 0) {
    throw Error(ErrorKind::damage, "opening store", name, "format version 0 is invalid");
  }
  if (len != layout::k_size) {
    throw Error(ErrorKind::damage, "reading", name,
                fmt::format("config is {} bytes, expected {}", len, layout::k_size));
  }
  if (checksum64(data, layout::checksum.offset) != get_u64(data + layout::checksum.offset)) {
    throw Error(ErrorKind::damage, "reading", name, "checksum mismatch");
  }
  check_required_features(FormatKind::store, get_u32(data + layout::required_features.offset),
                          known, name);
}
}  // namespace

StoreConfig decode_config(const uint8_t* data, size_t len, const std::string& name,
                          uint32_t known) {
  check_identity(data, len, name, known);
  StoreConfig c;
  c.version = get_u32(data + layout::version.offset);
  c.required_features = get_u32(data + layout::required_features.offset);
  c.compatible_features = get_u32(data + layout::compatible_features.offset);
  c.block_size = get_u32(data + layout::block_size.offset);
  std::memcpy(c.store_id.data(), data + layout::store_id.offset, layout::store_id.size);
  c.created = static_cast<int64_t>(get_u64(data + layout::created.offset));
  if (get_u32(data + layout::secret_length.offset) != layout::secret.size) {
    throw Error(ErrorKind::damage, "reading", name, "invalid secret length");
  }
  c.secret.assign(data + layout::secret.offset, data + layout::secret.end());
  if (!valid_block_size(c.block_size)) {
    throw Error(ErrorKind::damage, "reading", name, "invalid block size or truncated config");
  }
  return c;
}

}  // namespace vssimg
