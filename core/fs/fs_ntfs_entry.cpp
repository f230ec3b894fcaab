// TreeEntry from an NTFS file's attributes (see fs_ntfs_entry.hpp).
#include "core/fs/fs_ntfs_entry.hpp"

#include "core/base/bytes.hpp"
#include "core/fs/fs_ntfs_index.hpp"
#include "core/fs/fs_ntfs_layout.hpp"
#include "core/fs/fs_ntfs_names.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace vssimg::ntfs {

namespace {

constexpr uint64_t k_filetime_unix_epoch = 116444736000000000ull;
constexpr size_t k_si_created = 0x00;
constexpr size_t k_si_modified = 0x08;
constexpr size_t k_si_changed = 0x10;
constexpr size_t k_si_accessed = 0x18;
constexpr size_t k_si_attributes = 0x20;
constexpr size_t k_si_min_size = 0x24;

constexpr size_t k_reparse_header = 8;  // tag u32, data length u16, reserved u16

void take_standard_information(const MftFile& file, TreeEntry& e) {
  auto si = std::find_if(file.attributes.begin(), file.attributes.end(), [](const auto& a) {
    return a.type == k_attr_standard_information && !a.non_resident;
  });
  if (si == file.attributes.end()) return;
  if (si->value.size() < k_si_min_size)
    throw FsRejected(record_name(file.number) + ": $STANDARD_INFORMATION too short");
  const uint8_t* v = si->value.data();
  e.created_ns = filetime_to_unix_ns(get_u64(v + k_si_created));
  e.modified_ns = filetime_to_unix_ns(get_u64(v + k_si_modified));
  e.changed_ns = filetime_to_unix_ns(get_u64(v + k_si_changed));
  e.accessed_ns = filetime_to_unix_ns(get_u64(v + k_si_accessed));
  e.attributes = get_u32(v + k_si_attributes);
}

// The print name of a symlink or junction (the substitute name when there is none),
// "" when the buffer does not hold one.
std::string reparse_target(uint32_t tag, const uint8_t* data, size_t len) {
  const size_t fixed = tag == k_reparse_symlink ? 12 : 8;
  if (len < fixed) return "";
  auto name_at = [&](size_t field) -> std::string {
    const size_t off = get_u16(data + field);
    const size_t bytes = get_u16(data + field + 2);
    if (bytes == 0 || bytes % 2 != 0 || off + bytes > len - fixed) return "";
    return utf16le_to_utf8(data + fixed + off, bytes / 2);
  };
  std::string target = name_at(4);
  if (target.empty()) target = name_at(0);
  if (target.rfind("\\??\\", 0) == 0) target.erase(0, 4);
  return target;
}

void take_reparse_point(const MftFile& file, TreeEntry& e, uint64_t cluster_size) {
  std::optional<Stream> rp = find_stream(file, k_attr_reparse_point, "", cluster_size);
  if (!rp) return;
  e.type = EntryType::reparse_point;
  if (!rp->resident) return;  // only a third-party tag is that large: listed, not decoded
  if (rp->value.size() < k_reparse_header)
    throw FsRejected(record_name(file.number) + ": $REPARSE_POINT too short");
  const uint32_t tag = get_u32(rp->value.data());
  const size_t len =
      std::min<size_t>(get_u16(rp->value.data() + 4), rp->value.size() - k_reparse_header);
  if (tag == k_reparse_symlink) e.type = EntryType::symlink;
  if (tag == k_reparse_symlink || tag == k_reparse_mount_point)
    e.link_target = reparse_target(tag, rp->value.data() + k_reparse_header, len);
}

void take_data(const MftFile& file, TreeEntry& e, uint64_t cluster_size) {
  for (const FileAttribute& a : file.attributes) {
    if (a.type != k_attr_data) continue;
    if (!a.name.empty()) {
      if (std::find(e.streams.begin(), e.streams.end(), a.name) == e.streams.end())
        e.streams.push_back(a.name);
      continue;
    }
    e.compressed = e.compressed || (a.flags & k_attr_flag_compressed);
    e.sparse = e.sparse || (a.flags & k_attr_flag_sparse);
    e.encrypted = e.encrypted || (a.flags & k_attr_flag_encrypted);
  }
  if (std::optional<Stream> data = find_stream(file, k_attr_data, "", cluster_size))
    e.size = data->data_size;
}

}  // namespace

int64_t filetime_to_unix_ns(uint64_t filetime) {
  if (filetime == 0) return 0;
  constexpr int64_t k_max = std::numeric_limits<int64_t>::max() / 100;
  const int64_t since = filetime >= k_filetime_unix_epoch
                            ? static_cast<int64_t>(std::min<uint64_t>(
                                  filetime - k_filetime_unix_epoch, static_cast<uint64_t>(k_max)))
                            : -static_cast<int64_t>(k_filetime_unix_epoch - filetime);
  return since * 100;
}

TreeEntry make_entry(const MftFile& file, const std::string& name, uint64_t cluster_size) {
  TreeEntry e;
  e.name = name;
  e.id = file.number;
  e.type = file.is_directory ? EntryType::directory : EntryType::file;
  take_standard_information(file, e);
  uint32_t links = 0;
  for (const FileAttribute& a : file.attributes) {
    if (a.type != k_attr_file_name || a.non_resident) continue;
    FileName fn = parse_file_name(a.value.data(), a.value.size(), record_name(file.number));
    if (fn.name_space != k_namespace_dos) ++links;
  }
  e.link_count = std::max<uint32_t>(links, 1);
  if (!file.is_directory) take_data(file, e, cluster_size);
  take_reparse_point(file, e, cluster_size);
  e.compressed = e.compressed || (e.attributes & k_file_attribute_compressed);
  e.sparse = e.sparse || (e.attributes & k_file_attribute_sparse);
  e.encrypted = e.encrypted || (e.attributes & k_file_attribute_encrypted);
  return e;
}

std::string long_name_in(const MftFile& file, uint64_t parent) {
  for (const FileAttribute& a : file.attributes) {
    if (a.type != k_attr_file_name || a.non_resident) continue;
    FileName fn = parse_file_name(a.value.data(), a.value.size(), record_name(file.number));
    if (fn.name_space != k_namespace_dos && (fn.parent & k_reference_record_mask) == parent)
      return utf16_to_utf8(fn.name);
  }
  return "";
}

}  // namespace vssimg::ntfs
