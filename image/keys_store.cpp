// The key objects of a store: list, unlock, add, remove (image/keys.hpp).
#include "core/base/error.hpp"
#include "image/keys.hpp"
#include "image/keys_dpapi.hpp"
#include "image/storage.hpp"

#include <fmt/format.h>

#include <cstring>

namespace vssimg {

namespace {

KeyFile read_key(const Storage& storage, const std::string& name) {
  auto reader = storage.open(ObjectRef{ObjectKind::key, name});
  const std::string shown = reader->name();
  const uint64_t size = reader->size();
  if (size > 4096) throw Error(ErrorKind::damage, "reading key file", shown, "file is too large");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  reader->read_exact_at(bytes.data(), bytes.size(), 0);
  return decode_key_file(bytes.data(), bytes.size(), shown);
}

std::string write_key(const Storage& storage, const KeyFile& key) {
  const std::string name = key_object_name(key.key_id);
  std::vector<uint8_t> bytes = encode_key_file(key);
  auto writer = storage.create(ObjectRef{ObjectKind::key, name});
  writer->append(bytes.data(), bytes.size());
  writer->commit();
  return name;
}

bool is_password_key(const KeyEntry& e) {
  return e.key && e.key->protection == k_key_protection_password;
}

bool is_key_name(const std::string& name) {
  return name.size() == 20 && name.rfind("key-", 0) == 0 &&
         name.find_first_not_of("0123456789abcdef", 4) == std::string::npos;
}

}  // namespace

std::vector<KeyEntry> list_keys(const Storage& storage) {
  std::vector<KeyEntry> out;
  for (const std::string& name : storage.list(ObjectKind::key)) {
    if (!is_key_name(name)) continue;
    KeyEntry e;
    e.name = name;
    try {
      e.key = read_key(storage, name);
    } catch (const Error& err) {
      e.error = err.what();
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<MasterKey> unlock_store_dpapi(const Storage& storage, const StoreId& store_id,
                                            std::string* opened) {
  if (!dpapi_available()) return std::nullopt;
  for (const KeyEntry& e : list_keys(storage)) {
    if (!e.key || e.key->protection != k_key_protection_dpapi || e.key->store_id != store_id) {
      continue;
    }
    MasterKey master;
    std::string why;  // another machine's key: the password sources come next
    if (dpapi_unprotect(e.key->wrapped, store_id, master, why)) {
      if (opened) *opened = e.name;
      return master;
    }
  }
  return std::nullopt;
}

MasterKey unlock_store(const Storage& storage, const StoreId& store_id, const std::string& password,
                       std::string* opened) {
  const std::vector<KeyEntry> keys = list_keys(storage);
  size_t readable = 0, machine = 0;
  std::string first_error;
  for (const KeyEntry& e : keys) {
    if (!e.key || e.key->store_id != store_id) {
      if (first_error.empty()) first_error = e.key ? e.name + ": of another store" : e.error;
      continue;
    }
    if (!is_password_key(e)) {
      ++machine;
      continue;
    }
    ++readable;
    MasterKey master;
    if (unwrap_key_file(*e.key, password, master)) {
      if (opened) *opened = e.name;
      return master;
    }
  }
  if (keys.empty()) {
    throw Error(ErrorKind::store_not_found, "opening store", storage.location(),
                "encrypted store without any key file");
  }
  if (readable == 0 && machine > 0) {
    throw Error(ErrorKind::key_refused, "opening store", storage.location(),
                "no password key, and no DPAPI key of this machine opens it");
  }
  if (readable == 0) {
    throw Error(ErrorKind::damage, "opening store", storage.location(),
                fmt::format("no readable key file ({})", first_error));
  }
  throw Error(ErrorKind::key_refused, "opening store", storage.location(),
              fmt::format("wrong password (it opens none of the {} password key{})", readable,
                          readable == 1 ? "" : "s"));
}

std::string add_key(const Storage& storage, const MasterKey& master, const StoreId& store_id,
                    const std::string& password, const std::string& host, int64_t created,
                    const PwhashParams& params) {
  return write_key(storage, make_password_key(master, store_id, password, host, created, params));
}

std::string add_dpapi_key(const Storage& storage, const MasterKey& master, const StoreId& store_id,
                          const std::string& host, int64_t created) {
  return write_key(storage, make_dpapi_key(master, store_id, host, created));
}

std::string remove_key(const Storage& storage, const std::string& name) {
  const std::vector<KeyEntry> keys = list_keys(storage);
  std::vector<const KeyEntry*> matches;
  size_t readable = 0, passwords = 0;
  for (const KeyEntry& e : keys) {
    readable += e.key.has_value();
    passwords += is_password_key(e);
    const std::string hex = e.name.substr(4);
    if (e.name == name || (!name.empty() && hex.rfind(name, 0) == 0)) matches.push_back(&e);
  }
  if (matches.size() != 1) {
    throw Error(ErrorKind::usage, "removing key", name,
                matches.empty() ? "no such key (see vssimg key list)"
                                : "prefix names several keys; give more digits");
  }
  if (matches[0]->key && readable <= 1) {
    throw Error(ErrorKind::usage, "removing key", matches[0]->name,
                "it is the store's last key; add another first (vssimg key add)");
  }
  if (is_password_key(*matches[0]) && passwords <= 1) {
    throw Error(ErrorKind::usage, "removing key", matches[0]->name,
                "it is the store's last password key (a DPAPI key opens it on one machine only)");
  }
  storage.remove(ObjectRef{ObjectKind::key, matches[0]->name});
  return matches[0]->name;
}

}  // namespace vssimg
