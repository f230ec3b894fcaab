// ext2/3/4 files through libext2fs: opening, inodes, lookup and listing (file data is in
// fs_ext_tree_read.cpp). See fs_ext_tree.hpp for the bounds kept on hostile images.
#include "core/fs/fs_ext_tree.hpp"

#include "core/base/error.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <cstring>
#include <exception>
#include <limits>
#include <unordered_set>
#include <utility>

namespace vssimg {

namespace {

constexpr uint64_t k_max_symlink = 4096;  // PATH_MAX: Linux never writes a longer target

// True when the inode's extra space (i_extra_isize after the 128-byte base) reaches to
// the end of the 4-byte field at `offset` of struct ext2_inode_large.
bool has_extra_field(const ext2_inode_large& inode, unsigned inode_size, size_t offset) {
  if (inode_size <= EXT2_GOOD_OLD_INODE_SIZE) return false;
  uint64_t end = EXT2_GOOD_OLD_INODE_SIZE + uint64_t{inode.i_extra_isize};
  return end >= offset + 4 && inode_size >= offset + 4;
}

// Seconds (signed 32 bits) plus, when present, the extra field's two epoch bits and 30
// nanosecond bits, as nanoseconds since 1970 (clamped to what int64 holds: 1677–2262).
int64_t ext_time_ns(uint32_t seconds, const uint32_t* extra) {
  int64_t s = static_cast<int32_t>(seconds);
  int64_t ns = 0;
  if (extra) {
    s += static_cast<int64_t>(*extra & 3) << 32;
    ns = static_cast<int64_t>(*extra >> 2);
    if (ns > 999'999'999) ns = 0;
  }
  constexpr int64_t k_limit = std::numeric_limits<int64_t>::max() / 1'000'000'000 - 1;
  if (s > k_limit) return std::numeric_limits<int64_t>::max();
  if (s < -k_limit) return std::numeric_limits<int64_t>::min();
  return s * 1'000'000'000 + ns;
}

EntryType type_of(uint16_t mode) {
  if (LINUX_S_ISREG(mode)) return EntryType::file;
  if (LINUX_S_ISDIR(mode)) return EntryType::directory;
  if (LINUX_S_ISLNK(mode)) return EntryType::symlink;
  return EntryType::other;
}

struct DirListing {
  std::vector<std::pair<std::string, ext2_ino_t>> names;
  std::exception_ptr error;
};

int collect_entry(ext2_ino_t, int, ext2_dir_entry* dirent, int, int, char*, void* priv) {
  auto* listing = static_cast<DirListing*>(priv);
  try {
    std::string name(dirent->name, static_cast<size_t>(ext2fs_dirent_name_len(dirent)));
    if (dirent->inode != 0 && name != "." && name != "..") {
      listing->names.emplace_back(std::move(name), dirent->inode);
    }
    return 0;
  } catch (...) {
    listing->error = std::current_exception();
    return DIRENT_ABORT;
  }
}

struct BlockGuard {
  uint64_t limit = 0;
  std::unordered_set<blk64_t> seen;
  bool repeated = false;
  std::exception_ptr error;
};

int guard_block(ext2_filsys, blk64_t* blk, e2_blkcnt_t, blk64_t, int, void* priv) {
  auto* guard = static_cast<BlockGuard*>(priv);
  try {
    if (guard->seen.size() >= guard->limit || !guard->seen.insert(*blk).second) {
      guard->repeated = true;
      return BLOCK_ABORT;
    }
    return 0;
  } catch (...) {
    guard->error = std::current_exception();
    return BLOCK_ABORT;
  }
}

}  // namespace

ExtTree::ExtTree(BlockSource& source) : m_volume(source) {
  try {
    precheck_ext_superblock(m_volume);
  } catch (const FsRejected& e) {
    throw Error(ErrorKind::damage, "opening ext filesystem", source.name(), e.what());
  }
  errcode_t err = open_ext_filesystem(m_volume, m_state, m_fs);
  if (m_state.io_error) std::rethrow_exception(std::exchange(m_state.io_error, nullptr));
  if (err == EXT2_ET_UNSUPP_FEATURE) {
    throw Error(ErrorKind::usage, "opening ext filesystem", source.name(),
                "it uses features this build's libext2fs does not know");
  }
  if (err) {
    throw Error(ErrorKind::damage, "opening ext filesystem", source.name(),
                "libext2fs: " + ext_error(err));
  }
  m_blocks = ext2fs_blocks_count(m_fs->super);
  m_paths[EXT2_ROOT_INO] = "/";
}

std::string ExtTree::filesystem() const {
  return ext_variant(m_fs->super);
}

std::string ExtTree::object_of(uint64_t ino, const std::string& path) const {
  return fmt::format("{} (inode {})", path, ino);
}

std::string ExtTree::path_of(const TreeEntry& entry) const {
  auto it = m_paths.find(entry.id);
  return it != m_paths.end() ? it->second : entry.name;
}

void ExtTree::damaged(const std::string& path, const std::string& cause) const {
  throw Error(ErrorKind::damage, "reading", path, cause);
}

void ExtTree::check(errcode_t err, const char* doing, const std::string& path) {
  if (!err && !m_state.io_error) return;
  // libext2fs 1.47 leaves an inode that failed its checksum (or was cut by a read error)
  // in a cache slot still tagged with the slot's previous inode: without a flush, that
  // inode would read as this one.
  ext2fs_flush_icache(m_fs.get());
  if (m_state.io_error) std::rethrow_exception(std::exchange(m_state.io_error, nullptr));
  damaged(path, fmt::format("{}: {}", doing, ext_error(err)));
}

ext2_inode_large ExtTree::read_inode(ext2_ino_t ino, const std::string& path) {
  ext2_inode_large inode;
  std::memset(&inode, 0, sizeof inode);
  errcode_t err =
      ext2fs_read_inode2(m_fs.get(), ino, reinterpret_cast<ext2_inode*>(&inode), sizeof inode, 0);
  check(err, "reading the inode", object_of(ino, path));
  return inode;
}

TreeEntry ExtTree::make_entry(ext2_ino_t ino, const ext2_inode_large& inode, std::string name,
                              const std::string& path) {
  const unsigned isize = EXT2_INODE_SIZE(m_fs->super);
  auto extra = [&](const uint32_t& field) -> const uint32_t* {
    size_t offset = static_cast<size_t>(reinterpret_cast<const char*>(&field) -
                                        reinterpret_cast<const char*>(&inode));
    return has_extra_field(inode, isize, offset) ? &field : nullptr;
  };
  TreeEntry e;
  e.name = std::move(name);
  e.id = ino;
  e.type = type_of(inode.i_mode);
  e.size = EXT2_I_SIZE(&inode);
  e.mode = inode.i_mode;
  e.link_count = inode.i_links_count;
  e.modified_ns = ext_time_ns(inode.i_mtime, extra(inode.i_mtime_extra));
  e.accessed_ns = ext_time_ns(inode.i_atime, extra(inode.i_atime_extra));
  e.changed_ns = ext_time_ns(inode.i_ctime, extra(inode.i_ctime_extra));
  if (extra(inode.i_crtime))
    e.created_ns = ext_time_ns(inode.i_crtime, extra(inode.i_crtime_extra));
  e.encrypted = (inode.i_flags & EXT4_ENCRYPT_FL) != 0;
  if (e.type == EntryType::symlink && !e.encrypted) {
    ext2_inode_large copy = inode;
    e.link_target = symlink_target(ino, copy, path);
  }
  m_paths.emplace(ino, path);
  return e;
}

std::string ExtTree::symlink_target(ext2_ino_t ino, ext2_inode_large& inode,
                                    const std::string& path) {
  const uint64_t size = EXT2_I_SIZE(&inode);
  if (size > k_max_symlink) {
    damaged(object_of(ino, path),
            fmt::format("symlink target of {} bytes (more than {})", size, k_max_symlink));
  }
  auto* base = reinterpret_cast<ext2_inode*>(&inode);
  if (!(inode.i_flags & EXT4_INLINE_DATA_FL) && ext2fs_is_fast_symlink(base)) {
    return std::string(reinterpret_cast<const char*>(inode.i_block), static_cast<size_t>(size));
  }
  std::string target(static_cast<size_t>(size), '\0');
  read_data(ino, inode, path, [&](uint64_t offset, const uint8_t* data, size_t len) {
    if (offset <= target.size() && len <= target.size() - offset) {
      std::memcpy(target.data() + offset, data, len);
    }
  });
  return target;
}

void ExtTree::guard_directory(ext2_ino_t ino, const std::string& path) {
  BlockGuard guard;
  guard.limit = m_blocks;
  errcode_t err =
      ext2fs_block_iterate3(m_fs.get(), ino, BLOCK_FLAG_READ_ONLY, nullptr, guard_block, &guard);
  if (guard.error) std::rethrow_exception(guard.error);
  if (err == EXT2_ET_INLINE_DATA_CANT_ITERATE) return;  // inside the inode: bounded
  check(err, "mapping the directory's blocks", object_of(ino, path));
  if (guard.repeated) {
    damaged(object_of(ino, path), "directory block map repeats a block or exceeds the filesystem");
  }
}

TreeEntry ExtTree::root() {
  ext2_inode_large inode = read_inode(EXT2_ROOT_INO, "/");
  if (!LINUX_S_ISDIR(inode.i_mode))
    damaged(object_of(EXT2_ROOT_INO, "/"), "root is not a directory");
  return make_entry(EXT2_ROOT_INO, inode, "", "/");
}

std::optional<TreeEntry> ExtTree::lookup(const std::vector<std::string>& components) {
  ext2_ino_t ino = EXT2_ROOT_INO;
  std::string path = "/";
  ext2_inode_large inode = read_inode(ino, path);
  for (const std::string& name : components) {
    // Symlinks are not followed; "." and ".." are not entries of a FileTree.
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
      return std::nullopt;
    if (!LINUX_S_ISDIR(inode.i_mode)) return std::nullopt;
    guard_directory(ino, path);
    ext2_ino_t child = 0;
    errcode_t err =
        ext2fs_lookup(m_fs.get(), ino, name.data(), static_cast<int>(name.size()), nullptr, &child);
    if (err == EXT2_ET_FILE_NOT_FOUND && !m_state.io_error) return std::nullopt;
    check(err, "reading the directory", object_of(ino, path));
    path = path == "/" ? "/" + name : path + "/" + name;
    ino = child;
    inode = read_inode(ino, path);
  }
  return make_entry(ino, inode, components.empty() ? "" : components.back(), path);
}

std::vector<TreeEntry> ExtTree::list(const TreeEntry& directory) {
  const std::string path = path_of(directory);
  const auto ino = static_cast<ext2_ino_t>(directory.id);
  if (directory.id != ino || directory.type != EntryType::directory) {
    throw Error(ErrorKind::usage, "listing", path, "not a directory");
  }
  guard_directory(ino, path);
  DirListing listing;
  errcode_t err = ext2fs_dir_iterate2(m_fs.get(), ino, 0, nullptr, collect_entry, &listing);
  if (listing.error) std::rethrow_exception(listing.error);
  check(err, "reading the directory", object_of(ino, path));
  std::vector<TreeEntry> out;
  out.reserve(listing.names.size());
  for (auto& [name, child] : listing.names) {
    std::string child_path = path == "/" ? "/" + name : path + "/" + name;
    ext2_inode_large inode = read_inode(child, child_path);
    out.push_back(make_entry(child, inode, std::move(name), child_path));
  }
  return out;
}

void ExtTree::read(const TreeEntry& file, const std::string& stream, const ContentSink& sink) {
  const std::string path = path_of(file);
  const auto ino = static_cast<ext2_ino_t>(file.id);
  if (!stream.empty()) {
    throw Error(ErrorKind::usage, "reading", path + ":" + stream,
                "ext files have no named streams");
  }
  ext2_inode_large inode = read_inode(ino, path);
  if (inode.i_flags & EXT4_ENCRYPT_FL) {
    throw Error(ErrorKind::usage, "reading", path,
                "the file is encrypted (fscrypt) and its key is not available");
  }
  if (!LINUX_S_ISREG(inode.i_mode))
    throw Error(ErrorKind::usage, "reading", path, "not a regular file");
  read_data(ino, inode, path, sink);
}

std::unique_ptr<FileTree> open_ext_tree(BlockSource& source) {
  if (source.size() < 4096) return nullptr;
  VolumeReader volume(source);
  std::vector<uint8_t> head = volume.read(0, 4096, "ext superblock");
  if (!looks_like_ext(head.data())) return nullptr;
  return std::make_unique<ExtTree>(source);
}

}  // namespace vssimg
