// The NTFS FileTree (file_tree.hpp): paths resolved through the $I30 indexes from the
// root directory (record 5), entries from each file's own records, contents through
// fs_ntfs_data. The volume's $MFT runlist and $UpCase are read once when it is opened;
// everything else is read when asked for. Parser rejections (FsRejected) leave here as
// Error(damage) with the parser's message as the cause.
#include "core/base/error.hpp"
#include "core/fs/file_tree.hpp"
#include "core/fs/fs_ntfs_data.hpp"
#include "core/fs/fs_ntfs_entry.hpp"
#include "core/fs/fs_ntfs_file.hpp"
#include "core/fs/fs_ntfs_index.hpp"
#include "core/fs/fs_ntfs_layout.hpp"
#include "core/fs/fs_ntfs_names.hpp"
#include "core/fs/fs_ntfs_record.hpp"
#include "core/fs/fs_ntfs_volume.hpp"
#include "core/fs/fs_volume.hpp"

#include <fmt/format.h>

#include <memory>
#include <utility>

namespace vssimg {

namespace {

using namespace ntfs;

constexpr size_t k_upcase_bytes = 2 * 65536;
constexpr uint64_t k_max_upcase_bytes = 1u << 20;

[[noreturn]] void throw_damage(const FsRejected& e) {
  throw Error(ErrorKind::damage, "reading NTFS", "", e.what());
}

class NtfsTree final : public FileTree {
 public:
  NtfsTree(BlockSource& source, const Geometry& g) : m_reader(source), m_volume(m_reader, g) {}

  void open() {
    m_volume.load_mft();
    // A large $MFT lists its own $DATA in extension records: take all of it.
    MftFile mft = load_file(m_volume, k_record_mft);
    std::optional<Stream> mft_data = find_stream(mft, k_attr_data, "", cluster_size());
    if (!mft_data || mft_data->resident) throw FsRejected("$MFT: no non-resident $DATA");
    m_volume.set_mft_runs(std::move(mft_data->runs), mft_data->data_size);
    std::vector<uint8_t> table;
    MftFile upcase = load_file(m_volume, k_record_upcase);
    std::optional<Stream> data = find_stream(upcase, k_attr_data, "", cluster_size());
    if (!data || data->data_size > k_max_upcase_bytes) throw FsRejected("$UpCase: no usable $DATA");
    table.resize(static_cast<size_t>(data->data_size));
    read_stream(
        m_volume, *data,
        [&](uint64_t off, const uint8_t* d, size_t n) {
          std::copy(d, d + n, table.begin() + static_cast<ptrdiff_t>(off));
        },
        "$UpCase");
    if (table.size() != k_upcase_bytes)
      throw FsRejected(fmt::format("$UpCase: {} bytes, not {}", table.size(), k_upcase_bytes));
    m_upcase = UpCase(table);
  }

  std::string filesystem() const override { return "NTFS"; }

  TreeEntry root() override {
    try {
      return make_entry(load_file(m_volume, k_record_root), "", cluster_size());
    } catch (const FsRejected& e) {
      throw_damage(e);
    }
  }

  std::optional<TreeEntry> lookup(const std::vector<std::string>& components) override {
    try {
      return find_path(components);
    } catch (const FsRejected& e) {
      throw_damage(e);
    }
  }

  std::vector<TreeEntry> list(const TreeEntry& directory) override {
    try {
      return list_directory(directory);
    } catch (const FsRejected& e) {
      throw_damage(e);
    }
  }

  void read(const TreeEntry& file, const std::string& stream, const ContentSink& sink) override {
    try {
      read_file(file, stream, sink);
    } catch (const FsRejected& e) {
      throw_damage(e);
    }
  }

 private:
  uint64_t cluster_size() const { return m_volume.geometry().cluster_size; }

  // The file an index entry names, checked to be the file the entry was made for (a
  // record reused by another file has another sequence number).
  MftFile load_entry_file(const IndexEntry& entry, uint64_t directory) {
    const uint64_t number = entry.reference & k_reference_record_mask;
    MftFile file = load_file(m_volume, number);
    const uint16_t sequence = static_cast<uint16_t>(entry.reference >> 48);
    if (sequence != 0 && sequence != file.sequence) {
      throw FsRejected(fmt::format("{} index names {} with sequence {}, the record has {}",
                                   record_name(directory), record_name(number), sequence,
                                   file.sequence));
    }
    return file;
  }

  std::optional<TreeEntry> find_path(const std::vector<std::string>& components) {
    MftFile current = load_file(m_volume, k_record_root);
    std::string name;
    for (const std::string& component : components) {
      if (!current.is_directory || find_stream(current, k_attr_reparse_point, "", cluster_size()))
        return std::nullopt;  // not a directory, or a junction/symlink: not followed
      DirectoryIndex index(m_volume, current, m_upcase);
      std::optional<IndexEntry> entry = index.find(utf8_to_utf16(component));
      if (!entry) return std::nullopt;
      const uint64_t parent = current.number;
      current = load_entry_file(*entry, parent);
      name = utf16_to_utf8(entry->key.name);
      if (entry->key.name_space == k_namespace_dos) {
        std::string long_name = long_name_in(current, parent);
        if (!long_name.empty()) name = long_name;
      }
    }
    return make_entry(current, name, cluster_size());
  }

  std::vector<TreeEntry> list_directory(const TreeEntry& directory) {
    MftFile dir = load_file(m_volume, directory.id);
    if (!dir.is_directory) throw FsRejected(record_name(dir.number) + ": not a directory");
    DirectoryIndex index(m_volume, dir, m_upcase);
    std::vector<IndexEntry> entries;
    index.for_each([&](const IndexEntry& e) {
      // DOS names duplicate a Win32 name; records below 16 are the volume's own files
      // ($MFT, $Bitmap, ...) and "." of the root.
      if (e.key.name_space == k_namespace_dos) return;
      if ((e.reference & k_reference_record_mask) < k_first_user_record) return;
      entries.push_back(e);
    });
    std::vector<TreeEntry> out;
    out.reserve(entries.size());
    for (const IndexEntry& e : entries) {
      check_interrupted();
      out.push_back(
          make_entry(load_entry_file(e, dir.number), utf16_to_utf8(e.key.name), cluster_size()));
    }
    return out;
  }

  void read_file(const TreeEntry& entry, const std::string& stream, const ContentSink& sink) {
    MftFile file = load_file(m_volume, entry.id);
    const std::string what =
        record_name(file.number) + (stream.empty() ? " $DATA" : " $DATA stream '" + stream + "'");
    TreeEntry current = make_entry(file, entry.name, cluster_size());
    if (current.encrypted) {
      throw Error(ErrorKind::usage, "reading", entry.name,
                  "the file is EFS-encrypted; its contents cannot be read without the user's key");
    }
    if (file.is_directory && stream.empty())
      throw Error(ErrorKind::usage, "reading", entry.name, "is a directory");
    std::optional<Stream> data = find_stream(file, k_attr_data, stream, cluster_size());
    if (!data) {
      throw Error(ErrorKind::usage, "reading", entry.name,
                  stream.empty() ? "has no unnamed data stream" : "has no stream '" + stream + "'");
    }
    read_stream(m_volume, *data, sink, what);
  }

  VolumeReader m_reader;
  Volume m_volume;
  UpCase m_upcase;
};

}  // namespace

std::unique_ptr<FileTree> open_ntfs_tree(BlockSource& source) {
  if (source.size() < 4096) return nullptr;
  std::vector<uint8_t> head(4096);
  source.read_at(head.data(), head.size(), 0);
  if (!looks_like_ntfs(head.data())) return nullptr;
  try {
    auto tree = std::make_unique<NtfsTree>(source, parse_boot_sector(head.data(), source.size()));
    tree->open();
    return tree;
  } catch (const FsRejected& e) {
    throw Error(ErrorKind::damage, "opening NTFS on", source.name(), e.what());
  }
}

}  // namespace vssimg
