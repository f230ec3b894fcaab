// The key objects of a store: list, unlock, add, remove (image/keys.hpp).
#include "core/base/error.hpp"
#include "image/keys.hpp"
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

MasterKey unlock_store(const Storage& storage, const StoreId& store_id, const std::string& password,
                       std::string* opened) {
  const std::vector<KeyEntry> keys = list_keys(storage);
  size_t readable = 0;
  std::string first_error;
  for (const KeyEntry& e : keys) {
    if (!e.key || e.key->store_id != store_id) {
      if (first_error.empty()) first_error = e.key ? e.name + ": of another store" : e.error;
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
  if (readable == 0) {
    throw Error(ErrorKind::damage, "opening store", storage.location(),
                fmt::format("no readable key file ({})", first_error));
  }
  throw Error(ErrorKind::key_refused, "opening store", storage.location(),
              fmt::format("wrong password (it opens none of the {} key{})", readable,
                          readable == 1 ? "" : "s"));
}

std::string add_key(const Storage& storage, const MasterKey& master, const StoreId& store_id,
                    const std::string& password, const std::string& host, int64_t created,
                    const PwhashParams& params) {
  KeyFile key = make_password_key(master, store_id, password, host, created, params);
  const std::string name = key_object_name(key.key_id);
  std::vector<uint8_t> bytes = encode_key_file(key);
  auto writer = storage.create(ObjectRef{ObjectKind::key, name});
  writer->append(bytes.data(), bytes.size());
  writer->commit();
  return name;
}

std::string remove_key(const Storage& storage, const std::string& name) {
  const std::vector<KeyEntry> keys = list_keys(storage);
  std::vector<const KeyEntry*> matches;
  size_t readable = 0;
  for (const KeyEntry& e : keys) {
    readable += e.key.has_value();
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
  storage.remove(ObjectRef{ObjectKind::key, matches[0]->name});
  return matches[0]->name;
}

}  // namespace vssimg
