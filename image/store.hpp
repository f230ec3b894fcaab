// A store on disk: paths, config, points, index loading (docs/format.md, "Layout").
#pragma once

#include "core/base/hash.hpp"
#include "image/config.hpp"
#include "image/index.hpp"
#include "image/pack.hpp"
#include "image/point.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vssimg {

class Store {
 public:
  // Creates a new store at `root` (which must not exist, or be an empty directory).
  static void create(const std::filesystem::path& root, uint32_t block_size);

  // Opens an existing store. Throws Error(store_not_found) when `root` is missing, not a
  // directory, not a store, or of a newer format; Error(damage) for a damaged config.
  explicit Store(std::filesystem::path root);

  const std::filesystem::path& root() const { return m_root; }
  const StoreConfig& config() const { return m_config; }
  const BlockHasher& hasher() const { return *m_hasher; }
  uint32_t block_size() const { return m_config.block_size; }
  std::filesystem::path tmp_dir() const { return m_root / "tmp"; }
  std::filesystem::path pack_path(const PackId& id) const {
    return m_root / pack_relative_path(id);
  }

  // All points (header and metadata only), oldest first. Unreadable point files are
  // reported in `problems` (if given) and skipped.
  std::vector<PointInfo> list_points(std::vector<std::string>* problems = nullptr) const;
  // Reads and checks a whole point. Throws Error(damage) or Error(usage) if unknown.
  Point load_point(const std::string& id) const;
  // Resolves `latest`, an id, or a unique id prefix; `source` limits `latest` to one
  // source. Throws Error(usage) naming the point when nothing or several match.
  std::string resolve_point(const std::string& name, const std::string& source = {}) const;
  // Writes a point file (the commit point of a backup).
  void commit_point(const Point& point) const;
  void delete_point(const std::string& id) const;

  std::vector<std::filesystem::path> segment_paths() const;
  std::vector<PackId> packs_on_disk() const;
  // Loads every index segment into one table. Damaged segments are reported in
  // `problems` and skipped (their blocks will be stored again by the next backup).
  BlockIndex load_index(std::vector<std::string>* problems) const;

  // Deletes leftovers of interrupted writers in tmp/. Only under the writer lock.
  size_t clean_tmp() const;

 private:
  std::filesystem::path m_root;
  StoreConfig m_config;
  std::unique_ptr<BlockHasher> m_hasher;
};

}  // namespace vssimg
