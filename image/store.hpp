// A store: its config, points and index, reached through a Storage (image/storage.hpp).
#pragma once

#include "core/base/crypto.hpp"
#include "core/base/hash.hpp"
#include "image/config.hpp"
#include "image/index.hpp"
#include "image/pack.hpp"
#include "image/point.hpp"
#include "image/storage.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vssimg {

// Where the password of an encrypted store comes from: cli/ sets it once (the store's
// location is passed, so `copy` can tell its two stores apart). Without one, opening an
// encrypted store is refused (Error(key_refused)).
using PasswordProvider = std::function<std::string(const std::string& location)>;
void set_password_provider(PasswordProvider provider);

// An encrypted store's first key (init --encrypt): its password and Argon2id cost.
struct NewStoreKey {
  std::string password;
  std::string host;
  PwhashParams params;
};

class Store {
 public:
  // Writes the config of a new store (block size checked) into an empty storage; with
  // `key`, an encrypted store (its first key file, then the config).
  static void create(const Storage& storage, uint32_t block_size, const NewStoreKey* key = nullptr);
  // Creates a new store directory at `root` (which must not exist, or be an empty directory).
  static void create(const std::filesystem::path& root, uint32_t block_size,
                     const NewStoreKey* key = nullptr);

  // Opens the store in `storage`. Throws Error(store_not_found) when it holds no store,
  // Error(newer_format) for a newer format, Error(damage) for a damaged config.
  explicit Store(std::unique_ptr<Storage> storage);
  // Opens the store directory at `root` (LocalStorage::open_directory, then as above).
  explicit Store(std::filesystem::path root);

  const Storage& storage() const { return *m_storage; }
  const StoreConfig& config() const { return m_config; }
  const BlockHasher& hasher() const { return *m_hasher; }
  uint32_t block_size() const { return m_config.block_size; }
  bool encrypted() const { return (m_config.required_features & k_feature_encrypted) != 0; }

  // All points (header and metadata only), oldest first. Unreadable point files are
  // reported in `problems` (if given) and skipped.
  std::vector<PointInfo> list_points(std::vector<std::string>* problems = nullptr) const;
  // Reads and checks a whole point. Throws Error(damage) or Error(usage) if unknown.
  Point load_point(const std::string& id) const;
  // The `sequence` of a point committed now (docs/format.md): microseconds since 1970, or
  // 1 + the highest sequence in the store when that is higher (a clock set back). Needs no
  // coordination between writers: two at the same microsecond tie, and ties go by id.
  int64_t next_sequence() const;
  // Writes a point file (the commit point of a backup).
  void commit_point(const Point& point) const;
  void delete_point(const std::string& id) const;

  // The names of the index segments.
  std::vector<std::string> segments() const;
  std::vector<PackId> packs_on_disk() const;
  // Loads every index segment into one table. Damaged segments are reported in
  // `problems` and skipped (their blocks will be stored again by the next backup); a
  // segment of a newer format is refused (Error(newer_format)), as is any damage when
  // `problems` is null. Every copy of a block the segments name is kept (BlockIndex::
  // copies); the names of the damaged segments go to `damaged` (if given).
  BlockIndex load_index(std::vector<std::string>* problems,
                        std::vector<std::string>* damaged = nullptr) const;

  // Deletes leftovers of interrupted writers (Storage::clean_leftovers): under the writer
  // lock those of writers provably gone, under the exclusive store lock `Leftovers::all`.
  size_t clean_tmp(Leftovers which = Leftovers::dead) const;

 private:
  // Opens the master key with the provider's password and puts the storage under a seal.
  void unlock();

  std::unique_ptr<Storage> m_storage;
  StoreConfig m_config;
  std::unique_ptr<BlockHasher> m_hasher;
};

}  // namespace vssimg
