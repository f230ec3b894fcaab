// NTFS directories: the $I30 index, a B+ tree of $FILE_NAME keys sorted by upper-cased
// name. Its root is the resident $INDEX_ROOT; larger directories keep the other nodes in
// $INDEX_ALLOCATION as INDX blocks (multi-sector protected) that $BITMAP marks in use.
// Traversal is bounded (depth, each block read at most once), so a hostile index that
// loops or nests ends in FsRejected, never in a hang.
#pragma once

#include "core/fs/fs_ntfs_file.hpp"
#include "core/fs/fs_ntfs_names.hpp"
#include "core/fs/fs_ntfs_volume.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace vssimg::ntfs {

// $FILE_NAME namespaces.
constexpr uint8_t k_namespace_posix = 0;
constexpr uint8_t k_namespace_win32 = 1;
constexpr uint8_t k_namespace_dos = 2;
constexpr uint8_t k_namespace_win32_and_dos = 3;

// A parsed $FILE_NAME value (from an index key or a file's own attribute).
struct FileName {
  uint64_t parent = 0;  // MFT reference of the directory
  uint8_t name_space = 0;
  std::u16string name;
  uint32_t attributes = 0;  // FILE_ATTRIBUTE_* as of the last index update
};

// Parses a $FILE_NAME value of `len` bytes; throws FsRejected naming `what`.
FileName parse_file_name(const uint8_t* p, size_t len, const std::string& what);

struct IndexEntry {
  uint64_t reference = 0;  // MFT reference of the file: record in the low 48 bits
  FileName key;
};

class DirectoryIndex {
 public:
  // `dir` is a directory's file; throws FsRejected when it has no $I30 index root.
  DirectoryIndex(Volume& volume, const MftFile& dir, const UpCase& upcase);

  // Calls `fn` for every entry in collation order (DOS names included).
  void for_each(const std::function<void(const IndexEntry&)>& fn);
  // The entry whose name equals `name` ignoring case; an exact match wins over one that
  // differs only in case (POSIX names may). nullopt when there is none.
  std::optional<IndexEntry> find(const std::u16string& name);

 private:
  struct Node {
    struct Item {
      bool has_key = false;
      IndexEntry entry;
      bool has_child = false;
      uint64_t child_vcn = 0;
    };
    std::vector<Item> items;
  };
  Node parse_node(const uint8_t* header, size_t len, const std::string& what) const;
  Node read_block(uint64_t vcn);
  void walk(const Node& node, unsigned depth, std::set<uint64_t>& seen,
            const std::function<void(const IndexEntry&)>& fn);

  Volume& m_volume;
  const UpCase& m_upcase;
  std::string m_what;
  Node m_root;
  uint32_t m_block_size = 0;
  unsigned m_vcn_shift = 0;
  std::optional<Stream> m_allocation;
  std::vector<uint8_t> m_bitmap;
};

}  // namespace vssimg::ntfs
