#include "image/keys.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/base/hash.hpp"
#include "image/format.hpp"
#include "image/storage.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace vssimg {

namespace layout = key_layout;

namespace {

constexpr const char* k_prefix = "key-";

// The associated data of the wrapped master key: the key file's bytes before it, so
// neither its parameters nor its store id can be changed without the unwrap failing.
std::vector<uint8_t> wrap_ad(const StoreId& store_id, const uint8_t* file) {
  return seal_ad(store_id, SealKind::key_test, file, layout::wrapped.offset);
}

// The bytes before the wrapped key (everything the wrap's associated data covers).
std::vector<uint8_t> encode_head(const KeyFile& k) {
  std::vector<uint8_t> out(layout::k_size, 0);
  uint8_t* p = out.data();
  std::memcpy(p + layout::magic.offset, layout::k_magic, layout::magic.size);
  set_u32(p + layout::version.offset, k.version);
  set_u32(p + layout::protection.offset, k.protection);
  std::memcpy(p + layout::store_id.offset, k.store_id.data(), layout::store_id.size);
  set_u64(p + layout::key_id.offset, k.key_id);
  set_u64(p + layout::created.offset, static_cast<uint64_t>(k.created));
  set_u32(p + layout::argon_ops.offset, static_cast<uint32_t>(k.params.ops));
  set_u32(p + layout::argon_mem_kib.offset, static_cast<uint32_t>(k.params.mem_bytes >> 10));
  std::memcpy(p + layout::salt.offset, k.params.salt.data(), layout::salt.size);
  std::memcpy(p + layout::host.offset, k.host.data(), std::min(k.host.size(), layout::host.size));
  return out;
}

[[noreturn]] void damaged(const std::string& name, const std::string& cause) {
  throw Error(ErrorKind::damage, "reading key file", name, cause);
}

}  // namespace

std::string key_object_name(uint64_t key_id) {
  return fmt::format("{}{:016x}", k_prefix, key_id);
}

std::vector<uint8_t> encode_key_file(const KeyFile& key) {
  std::vector<uint8_t> out = encode_head(key);
  if (key.wrapped.size() != layout::wrapped.size) {
    throw Error("writing key file", key_object_name(key.key_id), "wrapped key has a wrong size");
  }
  std::memcpy(out.data() + layout::wrapped.offset, key.wrapped.data(), layout::wrapped.size);
  set_u64(out.data() + layout::checksum.offset, checksum64(out.data(), layout::checksum.offset));
  return out;
}

KeyFile decode_key_file(const uint8_t* data, size_t len, const std::string& name) {
  if (len < layout::version.end() || std::memcmp(data, layout::k_magic, 8) != 0) {
    damaged(name, "not a key file (bad magic)");
  }
  KeyFile k;
  k.version = get_u32(data + layout::version.offset);
  if (k.version == 0) damaged(name, "version 0");
  check_format_version(FormatKind::key, k.version, name);
  if (len != layout::k_size) damaged(name, fmt::format("{} bytes, not {}", len, layout::k_size));
  if (get_u64(data + layout::checksum.offset) != checksum64(data, layout::checksum.offset)) {
    damaged(name, "checksum mismatch");
  }
  k.protection = get_u32(data + layout::protection.offset);
  if (k.protection != k_key_protection_password && k.protection != k_key_protection_dpapi) {
    damaged(name, fmt::format("unknown protection {}", k.protection));
  }
  std::memcpy(k.store_id.data(), data + layout::store_id.offset, layout::store_id.size);
  k.key_id = get_u64(data + layout::key_id.offset);
  k.created = static_cast<int64_t>(get_u64(data + layout::created.offset));
  k.params.ops = get_u32(data + layout::argon_ops.offset);
  k.params.mem_bytes = static_cast<uint64_t>(get_u32(data + layout::argon_mem_kib.offset)) << 10;
  std::memcpy(k.params.salt.data(), data + layout::salt.offset, layout::salt.size);
  if (!pwhash_params_sane(k.params)) damaged(name, "Argon2id parameters out of range");
  const auto* host = reinterpret_cast<const char*>(data + layout::host.offset);
  k.host.assign(host, strnlen(host, layout::host.size));
  for (size_t i = k.host.size(); i < layout::host.size; ++i) {
    if (host[i] != 0) damaged(name, "host field is not zero-padded");
  }
  k.wrapped.assign(data + layout::wrapped.offset, data + layout::wrapped.end());
  return k;
}

KeyFile make_password_key(const MasterKey& master, const StoreId& store_id,
                          const std::string& password, const std::string& host, int64_t created,
                          const PwhashParams& params) {
  KeyFile k;
  k.store_id = store_id;
  random_bytes(&k.key_id, sizeof k.key_id);
  k.created = created;
  k.params = params;
  random_bytes(k.params.salt.data(), k.params.salt.size());
  k.host = host.substr(0, layout::host.size);
  std::vector<uint8_t> head = encode_head(k);
  auto kek = derive_password_key(password, k.params);
  k.wrapped = wrap_master_key(master, kek, wrap_ad(store_id, head.data()));
  secure_wipe(kek.data(), kek.size());
  return k;
}

bool unwrap_key_file(const KeyFile& key, const std::string& password, MasterKey& out) {
  if (key.protection != k_key_protection_password) return false;
  std::vector<uint8_t> head = encode_head(key);
  auto kek = derive_password_key(password, key.params);
  bool ok = unwrap_master_key(out, key.wrapped.data(), key.wrapped.size(), kek,
                              wrap_ad(key.store_id, head.data()));
  secure_wipe(kek.data(), kek.size());
  return ok;
}

}  // namespace vssimg
