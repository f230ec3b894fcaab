#include "image/damage.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "image/format.hpp"

#include <fmt/format.h>

#include <cstring>

namespace vssimg {

namespace {
namespace layout = damage_layout;
namespace header = damage_layout::header;
namespace entry = damage_layout::entry;
namespace trailer = damage_layout::trailer;

constexpr uint64_t k_max_object_size = 64u << 20;
constexpr const char* k_prefix = "damage-";
// Past this many objects an addition also compacts the record into one.
constexpr size_t k_compact_after = 16;
constexpr int k_list_attempts = 4;

bool is_damage_object(const std::string& name) {
  return name.compare(0, std::strlen(k_prefix), k_prefix) == 0;
}

ObjectRef damage_object(const std::string& name) {
  return ObjectRef{ObjectKind::state, name};
}

std::string new_object_name() {
  auto rnd = random_bytes(8);
  return k_prefix + to_hex(rnd.data(), rnd.size());
}

bool known_kind(uint8_t kind) {
  return kind >= static_cast<uint8_t>(DamageKind::copy) &&
         kind <= static_cast<uint8_t>(DamageKind::segment);
}
}  // namespace

DamageSet::Key DamageSet::key_of(const DamageEntry& e) {
  Key k{static_cast<uint8_t>(e.kind), {}, e.pack.bytes, 0};
  if (e.kind == DamageKind::copy) {
    k.block = e.block.bytes;
    k.offset = e.offset;
  }
  return k;
}

bool DamageSet::add(const DamageEntry& e) {
  auto [it, inserted] = m_entries.emplace(key_of(e), e.found);
  if (!inserted && e.found < it->second) it->second = e.found;
  return inserted;
}

bool DamageSet::add_copy(const BlockId& block, const PackId& pack, uint32_t offset, int64_t found) {
  return add(DamageEntry{DamageKind::copy, block, pack, offset, found});
}

bool DamageSet::add_pack(const PackId& pack, int64_t found) {
  return add(DamageEntry{DamageKind::pack, BlockId{}, pack, 0, found});
}

bool DamageSet::add_segment(const std::string& name, int64_t found) {
  PackId as_id;
  if (!PackId::parse(name, as_id)) return false;
  return add(DamageEntry{DamageKind::segment, BlockId{}, as_id, 0, found});
}

void DamageSet::merge(const DamageSet& other) {
  for (const auto& e : other.entries()) add(e);
}

bool DamageSet::has_pack(const PackId& pack) const {
  return m_entries.count(Key{static_cast<uint8_t>(DamageKind::pack), {}, pack.bytes, 0}) != 0;
}

bool DamageSet::copy_bad(const BlockId& block, const PackId& pack, uint32_t offset) const {
  if (m_entries.empty()) return false;
  return has_pack(pack) || m_entries.count(Key{static_cast<uint8_t>(DamageKind::copy), block.bytes,
                                               pack.bytes, offset}) != 0;
}

bool DamageSet::contains(const DamageEntry& e) const {
  return m_entries.count(key_of(e)) != 0;
}

std::vector<DamageEntry> DamageSet::entries() const {
  std::vector<DamageEntry> out;
  out.reserve(m_entries.size());
  for (const auto& [k, found] : m_entries) {
    DamageEntry e;
    e.kind = static_cast<DamageKind>(k.kind);
    e.block.bytes = k.block;
    e.pack.bytes = k.pack;
    e.offset = k.offset;
    e.found = found;
    out.push_back(e);
  }
  return out;
}

std::vector<uint8_t> encode_damage(const DamageSet& set) {
  const auto entries = set.entries();
  const size_t trailer_at = header::k_size + entries.size() * entry::k_size;
  std::vector<uint8_t> out(trailer_at + trailer::k_size, 0);
  uint8_t* h = out.data();
  std::memcpy(h + header::magic.offset, layout::k_magic, header::magic.size);
  set_u32(h + header::version.offset, k_format_version);
  set_u32(h + header::entry_count.offset, static_cast<uint32_t>(entries.size()));
  for (size_t i = 0; i < entries.size(); ++i) {
    uint8_t* p = h + header::k_size + i * entry::k_size;
    const DamageEntry& e = entries[i];
    p[entry::kind.offset] = static_cast<uint8_t>(e.kind);
    set_u32(p + entry::record_offset.offset, e.offset);
    if (e.kind == DamageKind::copy) {
      std::memcpy(p + entry::object.offset, e.block.bytes.data(), entry::object.size);
      std::memcpy(p + entry::pack.offset, e.pack.bytes.data(), entry::pack.size);
    } else {
      std::memcpy(p + entry::object.offset, e.pack.bytes.data(), entry::object.size);
    }
    set_u64(p + entry::found.offset, static_cast<uint64_t>(e.found));
  }
  set_u64(h + trailer_at + trailer::checksum.offset, checksum64(h, trailer_at));
  std::memcpy(h + trailer_at + trailer::magic.offset, layout::k_end_magic, trailer::magic.size);
  return out;
}

namespace {
// Magic, end magic, checksum, version and count; returns the entry count.
uint32_t check_damage_frame(const uint8_t* data, size_t len, const std::string& name) {
  auto damaged = [&](const std::string& what) {
    return Error(ErrorKind::damage, "reading", name, what);
  };
  if (len < header::k_size + trailer::k_size) throw damaged("file too short (truncated)");
  if (std::memcmp(data + header::magic.offset, layout::k_magic, header::magic.size) != 0)
    throw damaged("bad magic");
  const size_t trailer_at = len - trailer::k_size;
  if (std::memcmp(data + trailer_at + trailer::magic.offset, layout::k_end_magic,
                  trailer::magic.size) != 0)
    throw damaged("bad end magic (truncated?)");
  if (checksum64(data, trailer_at) != get_u64(data + trailer_at + trailer::checksum.offset))
    throw damaged("checksum mismatch");
  const uint32_t version = get_u32(data + header::version.offset);
  check_format_version(FormatKind::damage, version, name);
  if (version == 0) throw damaged("unsupported version 0");
  const uint32_t count = get_u32(data + header::entry_count.offset);
  if (uint64_t{count} * entry::k_size != trailer_at - header::k_size)
    throw damaged("entry count does not match the file size");
  return count;
}
}  // namespace

DamageSet decode_damage(const uint8_t* data, size_t len, const std::string& name) {
  const uint32_t count = check_damage_frame(data, len, name);
  DamageSet set;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* p = data + header::k_size + size_t{i} * entry::k_size;
    const uint8_t kind = p[entry::kind.offset];
    if (!known_kind(kind)) {
      throw Error(ErrorKind::damage, "reading", name, fmt::format("unknown entry kind {}", kind));
    }
    DamageEntry e;
    e.kind = static_cast<DamageKind>(kind);
    e.found = static_cast<int64_t>(get_u64(p + entry::found.offset));
    if (e.kind == DamageKind::copy) {
      std::memcpy(e.block.bytes.data(), p + entry::object.offset, entry::object.size);
      std::memcpy(e.pack.bytes.data(), p + entry::pack.offset, entry::pack.size);
      e.offset = get_u32(p + entry::record_offset.offset);
    } else {
      std::memcpy(e.pack.bytes.data(), p + entry::object.offset, entry::object.size);
    }
    set.add(e);
  }
  return set;
}

namespace {
// One pass over the listed objects. False when one vanished between listing and reading.
bool read_objects(const Storage& storage, DamageRecord& record) {
  record = DamageRecord{};
  for (const auto& name : storage.list(ObjectKind::state)) {
    if (!is_damage_object(name)) continue;
    const ObjectRef ref = damage_object(name);
    if (!storage.size(ref)) return false;
    try {
      const auto bytes = storage.read_all(ref, k_max_object_size);
      record.set.merge(decode_damage(bytes.data(), bytes.size(), storage.describe(ref)));
      record.objects.push_back(name);
    } catch (const Error& e) {
      if (!storage.size(ref)) return false;
      // A newer version is kept as it is: a newer build wrote it and will read it.
      if (e.kind() != ErrorKind::newer_format) record.damaged.push_back(name);
      record.notes.push_back(fmt::format("ignoring a damage record ({})", e.what()));
    }
  }
  return true;
}
}  // namespace

DamageRecord load_damage(const Storage& storage) {
  DamageRecord record;
  for (int attempt = 1; attempt <= k_list_attempts; ++attempt) {
    try {
      if (read_objects(storage, record)) return record;
    } catch (const Error& e) {
      record.notes.push_back(fmt::format("ignoring the damage record ({})", e.what()));
      return record;
    }
  }
  record.notes.push_back("the damage record kept changing while it was read; using what was read");
  return record;
}

void record_damage(const Storage& storage, const DamageSet& found) {
  DamageRecord record = load_damage(storage);
  DamageSet added;
  for (const auto& e : found.entries()) {
    if (!record.set.contains(e)) added.add(e);
  }
  if (added.empty()) return;
  const auto bytes = encode_damage(added);
  storage.write(damage_object(new_object_name()), bytes.data(), bytes.size());
  if (record.objects.size() + 1 > k_compact_after) {
    record = load_damage(storage);
    replace_damage(storage, record, record.set, false);
  }
}

void replace_damage(const Storage& storage, const DamageRecord& old, const DamageSet& next,
                    bool drop_damaged) {
  if (!next.empty()) {
    const auto bytes = encode_damage(next);
    storage.write(damage_object(new_object_name()), bytes.data(), bytes.size());
  }
  std::vector<std::string> gone = old.objects;
  if (drop_damaged) gone.insert(gone.end(), old.damaged.begin(), old.damaged.end());
  storage.remove_all(ObjectKind::state, gone);
}

}  // namespace vssimg
