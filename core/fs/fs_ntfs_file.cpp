// Loading an NTFS file's attributes across its records and joining attribute segments
// (see fs_ntfs_file.hpp).
#include "core/fs/fs_ntfs_file.hpp"

#include "core/base/bytes.hpp"
#include "core/fs/fs_ntfs_layout.hpp"
#include "core/fs/fs_ntfs_names.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace vssimg::ntfs {

namespace {

constexpr size_t k_record_sequence = 0x10;    // u16
constexpr size_t k_record_link_count = 0x12;  // u16
constexpr size_t k_attr_compression_unit = 0x22;
constexpr size_t k_list_name_offset = 0x07;  // u8
constexpr size_t k_max_extension_records = 4096;
constexpr uint64_t k_max_attribute_list = 256u << 10;

FileAttribute copy_attribute(const Attribute& a, uint64_t total_clusters, const std::string& what) {
  FileAttribute f;
  f.type = a.type;
  f.flags = a.flags;
  f.non_resident = a.non_resident;
  if (a.name_length != 0) {
    f.name = utf16le_to_utf8(a.p + get_u16(a.p + k_attr_name_offset), a.name_length);
  }
  if (!a.non_resident) {
    f.value.assign(a.value, a.value + a.value_length);
    return f;
  }
  f.lowest_vcn = a.lowest_vcn;
  f.highest_vcn = a.highest_vcn;
  f.allocated_size = a.allocated_size;
  f.data_size = a.data_size;
  f.initialized_size = a.initialized_size;
  f.compression_unit = a.p[k_attr_compression_unit];
  f.runs = decode_runlist(a, total_clusters, fmt::format("{} attribute 0x{:X}", what, a.type));
  return f;
}

void copy_attributes(const std::vector<uint8_t>& rec, uint64_t number, uint64_t total_clusters,
                     MftFile& file) {
  const std::string what = record_name(number);
  for (const Attribute& a : record_attributes(rec, number, what)) {
    file.attributes.push_back(copy_attribute(a, total_clusters, what));
  }
}

std::vector<uint8_t> attribute_list_bytes(Volume& volume, const FileAttribute& list,
                                          const std::string& what) {
  if (!list.non_resident) return list.value;
  if (list.lowest_vcn != 0 || list.data_size > k_max_attribute_list)
    throw FsRejected(what + ": $ATTRIBUTE_LIST too large or not one segment");
  return volume.read_attribute_bytes(list.runs, 0, static_cast<size_t>(list.data_size),
                                     what + " $ATTRIBUTE_LIST");
}

// The extension records an attribute list names (the base record left out), in order.
std::vector<uint64_t> extension_records(const std::vector<uint8_t>& list, uint64_t base,
                                        const std::string& what) {
  std::set<uint64_t> records;
  for (size_t off = 0; off + k_list_entry_min_size <= list.size();) {
    const uint8_t* e = list.data() + off;
    size_t len = get_u16(e + k_list_entry_length);
    if (len < k_list_entry_min_size || len % 8 != 0 || len > list.size() - off ||
        e[k_list_name_offset] + 2 * size_t{e[k_list_name_length]} > len) {
      throw FsRejected(fmt::format("{}: $ATTRIBUTE_LIST entry at {} has bad length", what, off));
    }
    uint64_t record = get_u64(e + k_list_record) & k_reference_record_mask;
    if (record != base) records.insert(record);
    if (records.size() > k_max_extension_records)
      throw FsRejected(what + ": $ATTRIBUTE_LIST names too many records");
    off += len;
  }
  return {records.begin(), records.end()};
}

void load_extensions(Volume& volume, MftFile& file) {
  const std::string what = record_name(file.number);
  auto list = std::find_if(file.attributes.begin(), file.attributes.end(),
                           [](const FileAttribute& a) { return a.type == k_attr_attribute_list; });
  if (list == file.attributes.end()) return;
  const std::vector<uint8_t> bytes = attribute_list_bytes(volume, *list, what);
  const uint64_t total_clusters = volume.geometry().total_clusters;
  for (uint64_t number : extension_records(bytes, file.number, what)) {
    std::vector<uint8_t> rec = volume.read_record(number);
    if ((get_u64(rec.data() + k_record_base_reference) & k_reference_record_mask) != file.number) {
      throw FsRejected(
          fmt::format("{}: extension {} does not point back to it", what, record_name(number)));
    }
    copy_attributes(rec, number, total_clusters, file);
  }
}

}  // namespace

std::string record_name(uint64_t number) {
  return fmt::format("MFT record {}", number);
}

MftFile load_file(Volume& volume, uint64_t number) {
  std::vector<uint8_t> rec = volume.read_record(number);
  const std::string what = record_name(number);
  if (get_u64(rec.data() + k_record_base_reference) != 0)
    throw FsRejected(what + ": is an extension record, not a file");
  MftFile file;
  file.number = number;
  file.sequence = get_u16(rec.data() + k_record_sequence);
  file.link_count = get_u16(rec.data() + k_record_link_count);
  file.is_directory = (get_u16(rec.data() + k_record_flags) & k_record_is_directory) != 0;
  copy_attributes(rec, number, volume.geometry().total_clusters, file);
  load_extensions(volume, file);
  return file;
}

std::optional<Stream> find_stream(const MftFile& file, uint32_t type, const std::string& name,
                                  uint64_t cluster_size) {
  std::vector<const FileAttribute*> parts;
  for (const FileAttribute& a : file.attributes) {
    if (a.type == type && a.name == name) parts.push_back(&a);
  }
  if (parts.empty()) return std::nullopt;
  const std::string what = fmt::format("{} attribute 0x{:X}{}", record_name(file.number), type,
                                       name.empty() ? "" : " '" + name + "'");
  Stream s;
  s.flags = parts[0]->flags;
  if (!parts[0]->non_resident) {
    if (parts.size() != 1) throw FsRejected(what + ": resident and in several parts");
    s.resident = true;
    s.value = parts[0]->value;
    s.data_size = s.initialized_size = s.allocated_size = s.value.size();
    return s;
  }
  std::stable_sort(parts.begin(), parts.end(), [](const FileAttribute* a, const FileAttribute* b) {
    return a->lowest_vcn < b->lowest_vcn;
  });
  uint64_t next_vcn = 0;
  for (const FileAttribute* p : parts) {
    if (!p->non_resident || p->lowest_vcn != next_vcn)
      throw FsRejected(what + ": segments leave a gap or overlap");
    s.runs.insert(s.runs.end(), p->runs.begin(), p->runs.end());
    next_vcn = p->highest_vcn + 1;
  }
  s.data_size = parts[0]->data_size;
  s.initialized_size = parts[0]->initialized_size;
  s.allocated_size = parts[0]->allocated_size;
  s.compression_unit = parts[0]->compression_unit;
  if (s.initialized_size > s.data_size || s.data_size > next_vcn * cluster_size) {
    throw FsRejected(fmt::format("{}: sizes (initialized {}, data {}) exceed its {} clusters", what,
                                 s.initialized_size, s.data_size, next_vcn));
  }
  return s;
}

}  // namespace vssimg::ntfs
