#include "image/store.hpp"

#include "core/base/error.hpp"
#include "core/os/path.hpp"
#include "core/os/platform.hpp"
#include "image/keys.hpp"
#include "image/point_meta.hpp"
#include "image/storage_sealed.hpp"
#include "image/storage_open.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <optional>

namespace vssimg {

namespace fs = std::filesystem;

namespace {
constexpr uint64_t k_max_config_size = 4096;
constexpr uint64_t k_max_point_file = uint64_t{1} << 34;
constexpr size_t k_point_head_size = size_t{1} << 20;  // holds header and metadata
constexpr uint64_t k_segment_entry_size = segment_layout::entry::k_size;
const ObjectRef k_config{ObjectKind::config, ""};
}  // namespace

namespace {
PasswordProvider g_password;
}  // namespace

void set_password_provider(PasswordProvider provider) {
  g_password = std::move(provider);
}

void Store::create(const Storage& storage, uint32_t block_size, const NewStoreKey* key) {
  StoreConfig c;
  c.block_size = block_size;
  auto id = random_bytes(c.store_id.size());
  std::memcpy(c.store_id.data(), id.data(), c.store_id.size());
  c.created = now_unix();
  if (key) {
    // No secret in plain text: ids are keyed by a subkey of the master key.
    c.required_features |= k_feature_encrypted;
    c.secret.assign(k_secret_size, 0);
    MasterKey master = MasterKey::random();
    add_key(storage, master, c.store_id, key->password, key->host, c.created, key->params);
  } else {
    c.secret = random_bytes(k_secret_size);
  }
  auto bytes = encode_config(c);
  storage.write(k_config, bytes.data(), bytes.size());
}

void Store::create(const fs::path& root, uint32_t block_size, const NewStoreKey* key) {
  if (!valid_block_size(block_size)) {
    throw Error(
        ErrorKind::usage, "creating store", path_to_utf8(root),
        fmt::format("block size {} is not a power of two from 64 KiB to 4 MiB", block_size));
  }
  if (key && !crypto_available()) {
    throw Error(ErrorKind::usage, "creating store", path_to_utf8(root),
                "this build has no encryption (built without libsodium)");
  }
  create(*create_storage(path_to_utf8(root)), block_size, key);
}

Store::Store(std::unique_ptr<Storage> storage) : m_storage(std::move(storage)) {
  if (!m_storage->size(k_config)) {
    throw Error(ErrorKind::store_not_found, "opening store", m_storage->location(),
                "not a vssimg store (no config file)");
  }
  auto bytes = m_storage->read_all(k_config, k_max_config_size);
  const uint32_t known =
      k_known_required_features | (crypto_available() ? k_feature_encrypted : 0u);
  m_config = decode_config(bytes.data(), bytes.size(), m_storage->describe(k_config), known);
  if (encrypted()) {
    unlock();
  } else {
    m_hasher = std::make_unique<BlockHasher>(m_config.secret);
  }
}

void Store::unlock() {
  const std::string where = m_storage->location();
  // On Windows a DPAPI key of this machine opens without a password; else a password.
  std::optional<MasterKey> master = unlock_store_dpapi(*m_storage, m_config.store_id);
  if (!master) {
    if (!g_password) {
      throw Error(ErrorKind::key_refused, "opening store", where,
                  "the store is encrypted and no password was given");
    }
    std::string password = g_password(where);
    master.emplace(unlock_store(*m_storage, m_config.store_id, password));
    secure_wipe(password.data(), password.size());
  }
  auto sealer = std::make_shared<const Sealer>(*master);
  m_storage = seal_storage(std::move(m_storage), sealer, m_config.store_id);
  m_hasher = std::make_unique<BlockHasher>(std::move(sealer));
}

Store::Store(fs::path root) : Store(open_storage(path_to_utf8(root))) {}

std::vector<PointInfo> Store::list_points(std::vector<std::string>* problems) const {
  std::vector<PointInfo> out;
  std::vector<uint8_t> head;
  for (const auto& id : m_storage->list(ObjectKind::point)) {
    try {
      if (!valid_point_id(id)) {
        throw Error(ErrorKind::damage, "reading", m_storage->describe(point_object(id)),
                    "not a point file name");
      }
      auto reader = m_storage->open(point_object(id));
      head.resize(static_cast<size_t>(std::min<uint64_t>(reader->size(), k_point_head_size)));
      reader->read_exact_at(head.data(), head.size(), 0);
      out.push_back(decode_point_info(head.data(), head.size(), id));
    } catch (const Error& e) {
      if (problems) problems->push_back(e.what());
    }
  }
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
  if (!m_storage->size(point_object(id)))
    throw Error(ErrorKind::usage, "finding point", id, "no such recovery point");
  auto bytes = m_storage->read_all(point_object(id), k_max_point_file);
  Point p = decode_point(bytes.data(), bytes.size(), id);
  if (p.block_size != m_config.block_size) {
    throw Error(ErrorKind::damage, "reading", "point " + id, "block size differs from the store's");
  }
  return p;
}

int64_t Store::next_sequence() const {
  int64_t highest = 0;
  for (const auto& info : list_points())
    highest = std::max(highest, info.meta.get_int(point_key::k_sequence));
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return std::max<int64_t>(highest + 1, now.count());
}

void Store::commit_point(const Point& point) const {
  auto bytes = encode_point(point);
  m_storage->write(point_object(point.id), bytes.data(), bytes.size());
}

void Store::delete_point(const std::string& id) const {
  if (!m_storage->remove(point_object(id))) throw Error("deleting", "point " + id, "no such point");
}

std::vector<std::string> Store::segments() const {
  return m_storage->list(ObjectKind::index);
}

std::vector<PackId> Store::packs_on_disk() const {
  std::vector<PackId> out;
  for (const auto& name : m_storage->list(ObjectKind::pack)) {
    PackId id;
    if (PackId::parse(name, id)) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

BlockIndex Store::load_index(std::vector<std::string>* problems,
                             std::vector<std::string>* damaged) const {
  BlockIndex index;
  const auto names = segments();
  uint64_t estimate = 0;
  for (const auto& name : names)
    estimate += m_storage->size(segment_object(name)).value_or(0) / k_segment_entry_size;
  index.reserve(static_cast<size_t>(estimate));
  for (const auto& name : names) {
    try {
      Segment seg = read_index_segment(*m_storage, name, m_config.store_id);
      std::vector<uint32_t> ordinals;
      for (const auto& pack : seg.packs) ordinals.push_back(index.add_pack(pack));
      for (const auto& e : seg.entries)
        index.add_copy(e.id, BlockLocation{ordinals[e.pack], e.offset});
    } catch (const Error& e) {
      if (!problems || e.kind() == ErrorKind::newer_format) throw;
      problems->push_back(e.what());
      if (damaged) damaged->push_back(name);
    }
  }
  return index;
}

size_t Store::clean_tmp(Leftovers which) const {
  return m_storage->clean_leftovers(which);
}

}  // namespace vssimg
