// ext2/3/4 file data: extent trees walked with libext2fs's extent handle, block maps
// (ext2/ext3) with ext2fs_block_iterate3, inline data with ext2fs_file_read. Data blocks
// are read straight from the source in runs of up to k_run_bytes; holes and unwritten
// extents are skipped (the sink's contract: bytes never passed are zeros).
#include "core/fs/fs_ext_tree.hpp"

#include "core/base/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

namespace vssimg {

namespace {

constexpr uint64_t k_run_bytes = 1 << 20;

struct ExtentCloser {
  void operator()(ext2_extent_handle_t h) const { ext2fs_extent_free(h); }
};

struct FileCloser {
  void operator()(ext2_file_t f) const { ext2fs_file_close(f); }
};

}  // namespace

// A block map walk's state: the run being gathered, the bound, and an exception to carry
// past libext2fs's C frames.
struct ExtBlockMapWalk {
  ExtTree* tree = nullptr;
  const std::string* path = nullptr;
  const ContentSink* sink = nullptr;
  uint64_t size = 0;
  uint64_t visits = 0;
  uint64_t run_lblk = 0, run_pblk = 0, run_count = 0;
  std::exception_ptr error;

  void flush() {
    if (run_count) tree->emit_run(run_lblk, run_pblk, run_count, size, *path, *sink);
    run_count = 0;
  }
  int visit(blk64_t blk, e2_blkcnt_t blockcnt) {
    // Indirect blocks count too: a map that revisits them cannot run longer than this.
    if (++visits > tree->m_blocks) {
      tree->damaged(*path, "block map is larger than the filesystem");
    }
    if (blockcnt < 0) return 0;
    if (blk >= tree->m_blocks) {
      tree->damaged(*path, fmt::format("block {} of the file is block {}, outside the filesystem",
                                       blockcnt, blk));
    }
    const uint64_t lblk = static_cast<uint64_t>(blockcnt);
    if (lblk * tree->m_fs->blocksize >= size) return BLOCK_ABORT;  // past the end of file
    const uint64_t max_run = k_run_bytes / tree->m_fs->blocksize;
    if (run_count && lblk == run_lblk + run_count && blk == run_pblk + run_count &&
        run_count < max_run) {
      ++run_count;
      return 0;
    }
    flush();
    run_lblk = lblk;
    run_pblk = blk;
    run_count = 1;
    return 0;
  }
};

namespace {

int visit_block(ext2_filsys, blk64_t* blk, e2_blkcnt_t blockcnt, blk64_t, int, void* priv) {
  auto* walk = static_cast<ExtBlockMapWalk*>(priv);
  try {
    return walk->visit(*blk, blockcnt);
  } catch (...) {
    walk->error = std::current_exception();
    return BLOCK_ABORT;
  }
}

}  // namespace

void ExtTree::emit_run(uint64_t lblk, uint64_t pblk, uint64_t count, uint64_t size,
                       const std::string& path, const ContentSink& sink) {
  const uint64_t bs = m_fs->blocksize;
  const uint64_t start = lblk * bs;
  if (start >= size) return;
  const uint64_t len = std::min(count * bs, size - start);
  for (uint64_t done = 0; done < len;) {
    const auto n = static_cast<size_t>(std::min(len - done, k_run_bytes));
    try {
      m_volume.read(pblk * bs + done, n, m_buf, "ext file data");
    } catch (const FsRejected& e) {
      damaged(path, e.what());
    }
    sink(start + done, m_buf.data(), n);
    done += n;
  }
}

void ExtTree::read_data(ext2_ino_t ino, ext2_inode_large& inode, const std::string& path,
                        const ContentSink& sink) {
  if (inode.i_flags & EXT4_INLINE_DATA_FL) return read_inline(ino, inode, path, sink);
  if (inode.i_flags & EXT4_EXTENTS_FL) return read_extents(ino, inode, path, sink);
  read_block_map(ino, inode, path, sink);
}

void ExtTree::read_extents(ext2_ino_t ino, ext2_inode_large& inode, const std::string& path,
                           const ContentSink& sink) {
  const std::string object = object_of(ino, path);
  const uint64_t size = EXT2_I_SIZE(&inode);
  ext2_extent_handle_t raw = nullptr;
  check(ext2fs_extent_open2(m_fs.get(), ino, reinterpret_cast<ext2_inode*>(&inode), &raw),
        "opening the extent tree", object);
  std::unique_ptr<std::remove_pointer_t<ext2_extent_handle_t>, ExtentCloser> handle(raw);
  uint64_t visits = 0, mapped = 0, next_lblk = 0;
  int op = EXT2_EXTENT_ROOT;
  for (;;) {
    ext2fs_extent ext{};
    errcode_t err = ext2fs_extent_get(handle.get(), op, &ext);
    if (err == EXT2_ET_EXTENT_NO_NEXT && !m_state.io_error) break;
    check(err, "walking the extent tree", object);
    op = EXT2_EXTENT_NEXT;
    // Index nodes are visited twice on the way down and up; each visit counts.
    if (++visits > 2 * m_blocks + 2) damaged(object, "extent tree is larger than the filesystem");
    if (!(ext.e_flags & EXT2_EXTENT_FLAGS_LEAF) || ext.e_len == 0) continue;
    if (ext.e_lblk < next_lblk) {
      damaged(object,
              fmt::format("extent at logical block {} overlaps the one before", ext.e_lblk));
    }
    next_lblk = ext.e_lblk + ext.e_len;
    if (ext.e_pblk >= m_blocks || ext.e_len > m_blocks - ext.e_pblk) {
      damaged(object, fmt::format("extent of {} blocks at block {} is outside the filesystem",
                                  ext.e_len, ext.e_pblk));
    }
    mapped += ext.e_len;
    if (mapped > m_blocks) damaged(object, "extents map more blocks than the filesystem has");
    if (ext.e_flags & EXT2_EXTENT_FLAGS_UNINIT) continue;  // allocated, reads as zeros
    if (ext.e_lblk * m_fs->blocksize >= size) break;       // preallocated past the end
    emit_run(ext.e_lblk, ext.e_pblk, ext.e_len, size, object, sink);
  }
}

void ExtTree::read_block_map(ext2_ino_t ino, const ext2_inode_large& inode, const std::string& path,
                             const ContentSink& sink) {
  const std::string object = object_of(ino, path);
  ExtBlockMapWalk walk;
  walk.tree = this;
  walk.path = &object;
  walk.sink = &sink;
  walk.size = EXT2_I_SIZE(&inode);
  errcode_t err =
      ext2fs_block_iterate3(m_fs.get(), ino, BLOCK_FLAG_READ_ONLY, nullptr, visit_block, &walk);
  if (walk.error) std::rethrow_exception(walk.error);
  check(err, "mapping the file's blocks", object);
  walk.flush();
}

void ExtTree::read_inline(ext2_ino_t ino, ext2_inode_large& inode, const std::string& path,
                          const ContentSink& sink) {
  const std::string object = object_of(ino, path);
  const uint64_t size = EXT2_I_SIZE(&inode);
  ext2_file_t raw = nullptr;
  check(ext2fs_file_open2(m_fs.get(), ino, reinterpret_cast<ext2_inode*>(&inode), 0, &raw),
        "opening the inline data", object);
  std::unique_ptr<std::remove_pointer_t<ext2_file_t>, FileCloser> file(raw);
  m_buf.resize(m_fs->blocksize);
  for (uint64_t offset = 0; offset < size;) {
    unsigned int got = 0;
    auto want = static_cast<unsigned int>(std::min<uint64_t>(m_buf.size(), size - offset));
    check(ext2fs_file_read(file.get(), m_buf.data(), want, &got), "reading the inline data",
          object);
    if (got == 0) break;
    sink(offset, m_buf.data(), got);
    offset += got;
  }
}

}  // namespace vssimg
