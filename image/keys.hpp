// Key files of an encrypted store (docs/format.md, "Key files"): each wraps the one
// master key under a password (Argon2id + XChaCha20-Poly1305) or, on Windows, under the
// machine's DPAPI. Adding, listing, removing and re-wrapping keys never touches data.
#pragma once

#include "core/base/crypto.hpp"
#include "image/config.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vssimg {

class Storage;

inline constexpr uint32_t k_key_version = 1;
inline constexpr uint32_t k_key_protection_password = 1;
inline constexpr uint32_t k_key_protection_dpapi = 2;  // Windows DPAPI, machine scope

struct KeyFile {
  uint32_t version = k_key_version;
  uint32_t protection = k_key_protection_password;
  StoreId store_id{};
  uint64_t key_id = 0;
  int64_t created = 0;
  PwhashParams params;           // all zero for a DPAPI key
  std::string host;              // at most 64 bytes of UTF-8
  std::vector<uint8_t> wrapped;  // password: key_layout::wrapped.size bytes; DPAPI: the blob
};

// "password" or "dpapi", as `key list` shows a key's protection.
const char* key_protection_name(uint32_t protection);

// The object name of a key id: "key-" and 16 hex digits.
std::string key_object_name(uint64_t key_id);

std::vector<uint8_t> encode_key_file(const KeyFile& key);
// Parses and checks a key file's bytes (size, magic, version, checksum, protection,
// Argon2id bounds). Throws Error: damage naming `name`, newer_format for a newer version.
KeyFile decode_key_file(const uint8_t* data, size_t len, const std::string& name);

// A new key file for `master`, protected by `password` with fresh salt and key id.
KeyFile make_password_key(const MasterKey& master, const StoreId& store_id,
                          const std::string& password, const std::string& host, int64_t created,
                          const PwhashParams& params = PwhashParams{});
// A new DPAPI key file for `master` (CryptProtectData for this machine, entropy = the
// store id). Throws Error(usage) "DPAPI keys exist only on Windows" elsewhere.
KeyFile make_dpapi_key(const MasterKey& master, const StoreId& store_id, const std::string& host,
                       int64_t created);
// Unwraps the master key from `key` with `password`; false when the password is wrong.
bool unwrap_key_file(const KeyFile& key, const std::string& password, MasterKey& out);

// One key of a store, as `key list` shows it (damaged ones carry the error).
struct KeyEntry {
  std::string name;
  std::optional<KeyFile> key;
  std::string error;  // why it could not be read, when key is empty
};

// Every key object of the store, sorted by name.
std::vector<KeyEntry> list_keys(const Storage& storage);

// Opens the master key with `password`: tries every readable key file of the store.
// Throws Error(key_refused) when none opens (nothing is changed), Error(damage) when the
// store has key files but none is readable, Error(store_not_found) when it has none.
// `opened` receives the name of the key that opened.
MasterKey unlock_store(const Storage& storage, const StoreId& store_id, const std::string& password,
                       std::string* opened = nullptr);

// The master key from the first DPAPI key of this store that unprotects on this machine;
// nothing when none does (always nothing where there is no DPAPI). Asks for nothing.
std::optional<MasterKey> unlock_store_dpapi(const Storage& storage, const StoreId& store_id,
                                            std::string* opened = nullptr);

// Writes a new key file; returns its object name.
std::string add_key(const Storage& storage, const MasterKey& master, const StoreId& store_id,
                    const std::string& password, const std::string& host, int64_t created,
                    const PwhashParams& params = PwhashParams{});

// Writes a new DPAPI key file (make_dpapi_key); returns its object name.
std::string add_dpapi_key(const Storage& storage, const MasterKey& master, const StoreId& store_id,
                          const std::string& host, int64_t created);

// Removes the key object `name` (a full name or a unique prefix of its hex digits). Refuses
// (usage) to remove the last readable key, and the last password key (a DPAPI key opens
// the store on one machine only). Returns the name removed.
std::string remove_key(const Storage& storage, const std::string& name);

}  // namespace vssimg
