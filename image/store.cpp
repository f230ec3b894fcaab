#include "image/store.hpp"

#include "core/os/atomic_file.hpp"
#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "core/os/platform.hpp"
#include "image/point_meta.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <system_error>

namespace vssimg {

namespace fs = std::filesystem;

namespace {
const char* const k_subdirs[] = {"packs", "index", "points", "locks", "tmp"};
constexpr size_t k_max_point_file = size_t{1} << 34;

std::vector<uint8_t> read_file_bytes(const fs::path& path, size_t max_size) {
  std::string s = read_small_file(path, max_size);
  return std::vector<uint8_t>(s.begin(), s.end());
}
}  // namespace

void Store::create(const fs::path& root, uint32_t block_size) {
  const std::string name = root.string();
  if (!valid_block_size(block_size)) {
    throw Error(
        ErrorKind::usage, "creating store", name,
        fmt::format("block size {} is not a power of two from 64 KiB to 4 MiB", block_size));
  }
  std::error_code ec;
  if (fs::exists(root, ec)) {
    if (!fs::is_directory(root, ec))
      throw Error("creating store", name, "a file with that name exists");
    if (!fs::is_empty(root, ec)) {
      throw Error(
          "creating store", name,
          fs::exists(root / "config") ? "a store already exists there" : "directory is not empty");
    }
  }
  fs::create_directories(root, ec);
  if (ec) throw Error("creating store", name, ec.message());
  for (const char* sub : k_subdirs) {
    fs::create_directory(root / sub, ec);
    if (ec) throw Error("creating store", (root / sub).string(), ec.message());
  }
  StoreConfig c;
  c.block_size = block_size;
  auto id = random_bytes(16);
  std::memcpy(c.store_id.data(), id.data(), 16);
  c.created = now_unix();
  c.secret = random_bytes(k_secret_size);
  auto bytes = encode_config(c);
  AtomicFile file(root / "config", root / "tmp");
  restrict_to_owner(file.file().path());
  file.append(bytes.data(), bytes.size());
  file.commit();
  sync_directory(root);
}

Store::Store(fs::path root) : m_root(std::move(root)) {
  const std::string name = m_root.string();
  std::error_code ec;
  auto st = fs::status(m_root, ec);
  if (ec || !fs::exists(st)) {
    throw Error(ErrorKind::store_not_found, "opening store", name,
                "no such directory (create a store with vssimg init)");
  }
  if (!fs::is_directory(st)) {
    throw Error(ErrorKind::store_not_found, "opening store", name,
                "is a file, not a store directory");
  }
  if (!fs::exists(m_root / "config", ec)) {
    throw Error(ErrorKind::store_not_found, "opening store", name,
                "not a vssimg store (no config file)");
  }
  for (const char* sub : k_subdirs) {
    if (vssimg::is_symlink(m_root / sub)) {
      throw Error(ErrorKind::damage, "opening store", (m_root / sub).string(),
                  "is a symbolic link; vssimg does not follow links out of a store");
    }
  }
  auto bytes = read_file_bytes(m_root / "config", 4096);
  m_config = decode_config(bytes.data(), bytes.size(), (m_root / "config").string());
  m_hasher = std::make_unique<BlockHasher>(m_config.secret);
  for (const char* sub : k_subdirs) {
    if (!fs::is_directory(m_root / sub, ec)) fs::create_directory(m_root / sub, ec);
  }
}

std::vector<PointInfo> Store::list_points(std::vector<std::string>* problems) const {
  std::vector<PointInfo> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(m_root / "points", ec)) {
    const auto& p = entry.path();
    if (p.extension() != ".point") continue;
    std::string id = p.stem().string();
    try {
      if (!valid_point_id(id))
        throw Error(ErrorKind::damage, "reading", p.string(), "not a point file name");
      // Header and metadata fit in the first 1 MiB.
      File f(p, File::Open::read);
      std::vector<uint8_t> head(static_cast<size_t>(std::min<uint64_t>(f.size(), 1 << 20)));
      f.read_exact_at(head.data(), head.size(), 0);
      out.push_back(decode_point_info(head.data(), head.size(), id));
    } catch (const Error& e) {
      if (problems) problems->push_back(e.what());
    }
  }
  if (ec) throw Error("listing", (m_root / "points").string(), ec.message());
  std::sort(out.begin(), out.end(), [](const PointInfo& a, const PointInfo& b) {
    auto ca = a.meta.get_int(point_key::k_created), cb = b.meta.get_int(point_key::k_created);
    if (ca != cb) return ca < cb;
    auto sa = a.meta.get_int(point_key::k_sequence), sb = b.meta.get_int(point_key::k_sequence);
    return sa != sb ? sa < sb : a.id < b.id;
  });
  return out;
}

Point Store::load_point(const std::string& id) const {
  if (!valid_point_id(id)) throw Error(ErrorKind::usage, "finding point", id, "not a point id");
  auto path = m_root / point_relative_path(id);
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw Error(ErrorKind::usage, "finding point", id, "no such recovery point");
  auto bytes = read_file_bytes(path, k_max_point_file);
  Point p = decode_point(bytes.data(), bytes.size(), id);
  if (p.block_size != m_config.block_size) {
    throw Error(ErrorKind::damage, "reading", "point " + id, "block size differs from the store's");
  }
  return p;
}

std::string Store::resolve_point(const std::string& name, const std::string& source) const {
  std::vector<std::string> problems;
  auto points = list_points(&problems);
  if (name == "latest") {
    for (auto it = points.rbegin(); it != points.rend(); ++it) {
      if (source.empty() || it->meta.get(point_key::k_source) == source) return it->id;
    }
    throw Error(ErrorKind::usage, "finding point", "latest",
                source.empty() ? "the store has no recovery points"
                               : "no recovery point of source " + source);
  }
  std::vector<std::string> matches;
  for (const auto& p : points) {
    if (p.id.compare(0, name.size(), name) == 0 && !name.empty()) matches.push_back(p.id);
  }
  if (matches.empty() && valid_point_id(name) && fs::exists(m_root / point_relative_path(name))) {
    return name;  // exists but its header is unreadable: let load_point report the damage
  }
  if (matches.empty())
    throw Error(ErrorKind::usage, "finding point", name, "no such recovery point");
  if (matches.size() > 1) {
    throw Error(ErrorKind::usage, "finding point", name,
                fmt::format("prefix matches {} points; give more digits", matches.size()));
  }
  return matches.front();
}

void Store::commit_point(const Point& point) const {
  auto bytes = encode_point(point);
  AtomicFile file(m_root / point_relative_path(point.id), tmp_dir());
  file.append(bytes.data(), bytes.size());
  file.commit();
}

void Store::delete_point(const std::string& id) const {
  auto path = m_root / point_relative_path(id);
  std::error_code ec;
  if (!fs::remove(path, ec) || ec) {
    throw Error("deleting", "point " + id, ec ? ec.message() : "no such point");
  }
  sync_directory(m_root / "points");
}

std::vector<fs::path> Store::segment_paths() const {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(m_root / "index", ec)) {
    if (entry.path().extension() == ".idx") out.push_back(entry.path());
  }
  if (ec) throw Error("listing", (m_root / "index").string(), ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<PackId> Store::packs_on_disk() const {
  std::vector<PackId> out;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(m_root / "packs", ec)) {
    if (entry.path().extension() != ".pack") continue;
    PackId id;
    if (PackId::parse(entry.path().stem().string(), id)) out.push_back(id);
  }
  if (ec) throw Error("listing", (m_root / "packs").string(), ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

BlockIndex Store::load_index(std::vector<std::string>* problems) const {
  BlockIndex index;
  auto paths = segment_paths();
  uint64_t estimate = 0;
  std::error_code ec;
  for (const auto& p : paths) estimate += fs::file_size(p, ec) / 32;
  index.reserve(static_cast<size_t>(estimate));
  for (const auto& p : paths) {
    try {
      Segment seg = read_index_segment(p, m_config.store_id);
      std::vector<uint32_t> ordinals;
      for (const auto& pack : seg.packs) ordinals.push_back(index.add_pack(pack));
      for (const auto& e : seg.entries)
        index.insert(e.id, BlockLocation{ordinals[e.pack], e.offset});
    } catch (const Error& e) {
      if (!problems) throw;
      problems->push_back(e.what());
    }
  }
  return index;
}

size_t Store::clean_tmp() const {
  size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(tmp_dir(), ec)) {
    if (fs::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace vssimg
