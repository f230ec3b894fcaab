// Files and directories inside an imaged volume, for `ls` and `extract`: NTFS in the
// portable parser (fs_ntfs_tree*.cpp, both builds), ext2/3/4 through libext2fs (Linux
// build; the Windows build says it is not supported there). Every reader works on a
// BlockSource (a point through image/point_source.hpp, or an image file in tests) and
// reads only the blocks it needs.
//
// Contracts shared by every implementation:
//  - Names are UTF-8. Paths are given as components ({"Users", "x", "a.txt"}); the
//    filesystem's own rules decide matching (NTFS: case-insensitive through $UpCase).
//  - Damaged structures throw Error(damage) naming the path and what is wrong; a path
//    that does not exist is std::nullopt from lookup (the CLI's exit 2), never a throw.
//  - No recursion without a depth bound, no allocation sized by an unchecked on-disk
//    value: hostile images are fuzzed (tests/fuzz).
#pragma once

#include "core/source/block_source.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vssimg {

enum class EntryType { file, directory, symlink, reparse_point, other };

struct TreeEntry {
  std::string name;  // the name in its directory ("" for the root)
  EntryType type = EntryType::other;
  uint64_t id = 0;    // NTFS file record number / ext inode number
  uint64_t size = 0;  // of the unnamed data stream / the file
  // Nanoseconds since 1970-01-01 UTC; 0 when the filesystem does not record it.
  int64_t modified_ns = 0;
  int64_t accessed_ns = 0;
  int64_t changed_ns = 0;   // metadata change (NTFS MFT change / ext ctime)
  int64_t created_ns = 0;   // NTFS creation / ext4 crtime
  uint32_t attributes = 0;  // NTFS FILE_ATTRIBUTE_* bits; 0 on ext
  uint32_t mode = 0;        // POSIX mode bits on ext; 0 on NTFS
  uint32_t link_count = 1;
  std::string link_target;           // symlink / reparse target when known
  std::vector<std::string> streams;  // NTFS named data streams ("Zone.Identifier")
  bool compressed = false;
  bool sparse = false;
  bool encrypted = false;  // EFS: listed, never extracted
};

// Receives a file's bytes in order: `data` of `len` bytes at `offset`. Holes (sparse
// runs) may be skipped: bytes never passed are zeros.
using ContentSink = std::function<void(uint64_t offset, const uint8_t* data, size_t len)>;

class FileTree {
 public:
  virtual ~FileTree() = default;
  virtual std::string filesystem() const = 0;  // "NTFS", "ext4"
  virtual TreeEntry root() = 0;
  // The entry at `components` below the root, or nullopt when a component is missing.
  virtual std::optional<TreeEntry> lookup(const std::vector<std::string>& components) = 0;
  // The entries of a directory (without "." and ".."), in the filesystem's order.
  virtual std::vector<TreeEntry> list(const TreeEntry& directory) = 0;
  // The contents of a file, or of its named stream `stream` ("" = the unnamed one).
  // Throws Error(usage) for an encrypted file or a missing stream, Error(damage) for
  // damaged runs or compression.
  virtual void read(const TreeEntry& file, const std::string& stream, const ContentSink& sink) = 0;
};

// Detects the filesystem of `source` and opens it. Throws Error(usage) naming the source
// when it holds no filesystem this build can read, Error(damage) when it is damaged.
std::unique_ptr<FileTree> open_file_tree(BlockSource& source);

// Each implementation's opener; nullptr when `source` is not that filesystem.
std::unique_ptr<FileTree> open_ntfs_tree(BlockSource& source);
std::unique_ptr<FileTree> open_ext_tree(BlockSource& source);

}  // namespace vssimg
