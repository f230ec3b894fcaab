#include "image/config.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/base/hash.hpp"

#include <fmt/format.h>

#include <cstring>

namespace vssimg {

namespace {
constexpr char k_magic[8] = {'V', 'S', 'S', 'I', 'M', 'G', 'C', 'F'};
}

bool valid_block_size(uint64_t size) {
  return size >= k_min_block_size && size <= k_max_block_size && (size & (size - 1)) == 0;
}

std::vector<uint8_t> encode_config(const StoreConfig& c) {
  std::vector<uint8_t> out;
  put_bytes(out, k_magic, 8);
  put_u32(out, c.version);
  put_u32(out, c.required_features);
  put_u32(out, c.compatible_features);
  put_u32(out, c.block_size);
  put_bytes(out, c.store_id.data(), c.store_id.size());
  put_u64(out, static_cast<uint64_t>(c.created));
  put_u32(out, static_cast<uint32_t>(c.secret.size()));
  put_bytes(out, c.secret.data(), c.secret.size());
  put_u64(out, checksum64(out.data(), out.size()));
  return out;
}

StoreConfig decode_config(const uint8_t* data, size_t len, const std::string& name) {
  if (len < 16 || std::memcmp(data, k_magic, 8) != 0) {
    throw Error(ErrorKind::store_not_found, "opening store", name,
                "not a vssimg store (bad magic)");
  }
  StoreConfig c;
  Reader r(data, len);
  r.skip(8);
  c.version = r.u32();
  c.required_features = r.u32();
  if (c.version > k_format_version) {
    throw Error(ErrorKind::store_not_found, "opening store", name,
                fmt::format("store format version {} is newer than this build supports ({}); "
                            "use a newer vssimg",
                            c.version, k_format_version));
  }
  if (c.version == 0) {
    throw Error(ErrorKind::damage, "opening store", name, "format version 0 is invalid");
  }
  if (len != k_config_size) {
    throw Error(ErrorKind::damage, "reading", name,
                fmt::format("config is {} bytes, expected {}", len, k_config_size));
  }
  if (checksum64(data, len - 8) != get_u64(data + len - 8)) {
    throw Error(ErrorKind::damage, "reading", name, "checksum mismatch");
  }
  if ((c.required_features & ~k_known_required_features) != 0) {
    throw Error(ErrorKind::store_not_found, "opening store", name,
                fmt::format("store requires features {:#x} that this build (format {}) lacks",
                            c.required_features & ~k_known_required_features, k_format_version));
  }
  c.compatible_features = r.u32();
  c.block_size = r.u32();
  r.take(c.store_id.data(), c.store_id.size());
  c.created = static_cast<int64_t>(r.u64());
  uint32_t secret_len = r.u32();
  if (secret_len != k_secret_size) {
    throw Error(ErrorKind::damage, "reading", name, "invalid secret length");
  }
  c.secret.resize(secret_len);
  r.take(c.secret.data(), secret_len);
  if (!r.ok() || !valid_block_size(c.block_size)) {
    throw Error(ErrorKind::damage, "reading", name, "invalid block size or truncated config");
  }
  return c;
}

}  // namespace vssimg
