// Internal to fs_ext_tree*.cpp: the ext2/3/4 FileTree over libext2fs (Linux build).
// Metadata (inodes, directories, extent trees) is read through libext2fs; file data is
// read by this code straight from the BlockSource, run by run, so holes and unwritten
// (fallocated) extents cost nothing and large files are read in large pieces.
//
// Hostile images: every walk is bounded by the filesystem's block count (a file cannot
// map, nor a directory hold, more blocks than there are), extents must come in logical
// order and point inside the filesystem, and directory blocks may not repeat, so no
// image makes a walk loop or a listing grow without bound. One thread at a time.
#pragma once

#include "core/fs/file_tree.hpp"
#include "core/fs/fs_ext_libext2fs.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace vssimg {

class ExtTree final : public FileTree {
 public:
  // Opens `source`, which holds an ext superblock. Throws Error(damage) naming the source
  // when the superblock or libext2fs refuses it, Error(usage) for unknown features.
  explicit ExtTree(BlockSource& source);

  std::string filesystem() const override;
  TreeEntry root() override;
  std::optional<TreeEntry> lookup(const std::vector<std::string>& components) override;
  std::vector<TreeEntry> list(const TreeEntry& directory) override;
  void read(const TreeEntry& file, const std::string& stream, const ContentSink& sink) override;

 private:
  friend struct ExtBlockMapWalk;

  // After a libext2fs call: rethrows the source's I/O error if the call hit one, else
  // throws Error(damage) "reading <path>: <doing>: <libext2fs message>" for err != 0.
  void check(errcode_t err, const char* doing, const std::string& path);
  [[noreturn]] void damaged(const std::string& path, const std::string& cause) const;
  ext2_inode_large read_inode(ext2_ino_t ino, const std::string& path);
  TreeEntry make_entry(ext2_ino_t ino, const ext2_inode_large& inode, std::string name,
                       const std::string& path);
  std::string symlink_target(ext2_ino_t ino, ext2_inode_large& inode, const std::string& path);
  // Throws Error(damage) when the directory's block map repeats a block or is larger than
  // the filesystem (what would make libext2fs's directory walk run without bound).
  void guard_directory(ext2_ino_t ino, const std::string& path);
  // "/a/b (inode 12)" for messages: the path this tree returned the entry under.
  std::string object_of(uint64_t ino, const std::string& path) const;
  std::string path_of(const TreeEntry& entry) const;

  // File data (fs_ext_tree_read.cpp): the bytes of [0, i_size), holes skipped.
  void read_data(ext2_ino_t ino, ext2_inode_large& inode, const std::string& path,
                 const ContentSink& sink);
  void read_extents(ext2_ino_t ino, ext2_inode_large& inode, const std::string& path,
                    const ContentSink& sink);
  void read_block_map(ext2_ino_t ino, const ext2_inode_large& inode, const std::string& path,
                      const ContentSink& sink);
  void read_inline(ext2_ino_t ino, ext2_inode_large& inode, const std::string& path,
                   const ContentSink& sink);
  // `count` blocks at physical `pblk` holding logical blocks from `lblk`, cut at `size`.
  void emit_run(uint64_t lblk, uint64_t pblk, uint64_t count, uint64_t size,
                const std::string& path, const ContentSink& sink);

  ExtChannelState m_state;
  VolumeReader m_volume;
  ExtFsHandle m_fs;
  uint64_t m_blocks = 0;  // blocks in the filesystem: the bound of every walk
  std::unordered_map<uint64_t, std::string> m_paths;
  std::vector<uint8_t> m_buf;
};

}  // namespace vssimg
