#include "image/keys.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/base/hash.hpp"
#include "image/format.hpp"
#include "image/keys_dpapi.hpp"
#include "image/storage.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace vssimg {

// A DPAPI key (protection 2, docs/format.md "Key files"): the same head as a password key
// (Argon2id fields zero), then blob length, blob and checksum; 148 + n bytes in all.
namespace key_layout::dpapi {
inline constexpr Field blob_len{136, 4};
inline constexpr size_t k_blob_offset = 140;
inline constexpr size_t k_max_blob = 2048;
inline constexpr size_t k_tail = 12;  // blob length and checksum
}  // namespace key_layout::dpapi

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

const char* key_protection_name(uint32_t protection) {
  return protection == k_key_protection_dpapi ? "dpapi" : "password";
}

std::vector<uint8_t> encode_key_file(const KeyFile& key) {
  std::vector<uint8_t> out = encode_head(key);
  size_t body = layout::wrapped.offset;
  if (key.protection == k_key_protection_dpapi) {
    const size_t n = key.wrapped.size();
    if (n == 0 || n > layout::dpapi::k_max_blob) {
      throw Error("writing key file", key_object_name(key.key_id), "DPAPI blob has a wrong size");
    }
    out.assign(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(body));
    out.resize(body + layout::dpapi::k_tail + n);
    set_u32(out.data() + layout::dpapi::blob_len.offset, static_cast<uint32_t>(n));
    body = layout::dpapi::k_blob_offset;
  } else if (key.wrapped.size() != layout::wrapped.size) {
    throw Error("writing key file", key_object_name(key.key_id), "wrapped key has a wrong size");
  }
  std::memcpy(out.data() + body, key.wrapped.data(), key.wrapped.size());
  const size_t sum = body + key.wrapped.size();
  set_u64(out.data() + sum, checksum64(out.data(), sum));
  return out;
}

namespace {

// The size of the file, given its protection; checks the DPAPI blob length's bounds.
// Returns the offset of the checksum.
size_t check_size(const uint8_t* data, size_t len, uint32_t protection, const std::string& name) {
  if (protection != k_key_protection_dpapi) {
    if (len != layout::k_size) damaged(name, fmt::format("{} bytes, not {}", len, layout::k_size));
    return layout::checksum.offset;
  }
  if (len < layout::dpapi::k_blob_offset) damaged(name, fmt::format("{} bytes: too short", len));
  const uint32_t n = get_u32(data + layout::dpapi::blob_len.offset);
  if (n == 0 || n > layout::dpapi::k_max_blob)
    damaged(name, fmt::format("DPAPI blob of {} bytes", n));
  if (len != layout::dpapi::k_blob_offset + n + 8) {
    damaged(name, fmt::format("{} bytes, not {} for a DPAPI blob of {}", len,
                              layout::dpapi::k_blob_offset + n + 8, n));
  }
  return layout::dpapi::k_blob_offset + n;
}

// The Argon2id fields: in bounds for a password key, all zero for a DPAPI key.
void check_params(const KeyFile& k, const std::string& name) {
  if (k.protection == k_key_protection_password) {
    if (!pwhash_params_sane(k.params)) damaged(name, "Argon2id parameters out of range");
    return;
  }
  const bool zero =
      k.params.ops == 0 && k.params.mem_bytes == 0 &&
      std::all_of(k.params.salt.begin(), k.params.salt.end(), [](uint8_t b) { return b == 0; });
  if (!zero) damaged(name, "a DPAPI key with Argon2id parameters");
}

}  // namespace

KeyFile decode_key_file(const uint8_t* data, size_t len, const std::string& name) {
  if (len < layout::protection.end() || std::memcmp(data, layout::k_magic, 8) != 0) {
    damaged(name, "not a key file (bad magic)");
  }
  KeyFile k;
  k.version = get_u32(data + layout::version.offset);
  if (k.version == 0) damaged(name, "version 0");
  check_format_version(FormatKind::key, k.version, name);
  k.protection = get_u32(data + layout::protection.offset);
  if (k.protection != k_key_protection_password && k.protection != k_key_protection_dpapi) {
    damaged(name, fmt::format("unknown protection {}", k.protection));
  }
  const size_t sum = check_size(data, len, k.protection, name);
  if (get_u64(data + sum) != checksum64(data, sum)) damaged(name, "checksum mismatch");
  std::memcpy(k.store_id.data(), data + layout::store_id.offset, layout::store_id.size);
  k.key_id = get_u64(data + layout::key_id.offset);
  k.created = static_cast<int64_t>(get_u64(data + layout::created.offset));
  k.params.ops = get_u32(data + layout::argon_ops.offset);
  k.params.mem_bytes = static_cast<uint64_t>(get_u32(data + layout::argon_mem_kib.offset)) << 10;
  std::memcpy(k.params.salt.data(), data + layout::salt.offset, layout::salt.size);
  check_params(k, name);
  const auto* host = reinterpret_cast<const char*>(data + layout::host.offset);
  k.host.assign(host, strnlen(host, layout::host.size));
  for (size_t i = k.host.size(); i < layout::host.size; ++i) {
    if (host[i] != 0) damaged(name, "host field is not zero-padded");
  }
  const size_t body = k.protection == k_key_protection_dpapi ? layout::dpapi::k_blob_offset
                                                             : layout::wrapped.offset;
  k.wrapped.assign(data + body, data + sum);
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

KeyFile make_dpapi_key(const MasterKey& master, const StoreId& store_id, const std::string& host,
                       int64_t created) {
  KeyFile k;
  k.protection = k_key_protection_dpapi;
  k.store_id = store_id;
  random_bytes(&k.key_id, sizeof k.key_id);
  k.created = created;
  k.params.ops = 0;
  k.params.mem_bytes = 0;
  k.host = host.substr(0, layout::host.size);
  k.wrapped = dpapi_protect(master, store_id);
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
