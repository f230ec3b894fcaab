// ext2/3/4 allocation map through libext2fs (the library e2fsck and partclone use), and
// the io_manager over a BlockSource that every libext2fs reader here uses
// (fs_ext_libext2fs.hpp).
#include "core/fs/fs_ext_libext2fs.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"

#include <et/com_err.h>
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>

namespace vssimg {

namespace {

using ChannelState = ExtChannelState;

// libext2fs opens channels by name; the reader to use is handed over here for the
// duration of one ext2fs_open2 call (each open creates its own channel state).
thread_local ChannelState* t_opening = nullptr;

ChannelState* state_of(io_channel ch) {
  return static_cast<ChannelState*>(ch->private_data);
}

errcode_t source_close(io_channel ch) {
  if (--ch->refcount > 0) return 0;
  std::free(ch->name);
  std::free(ch);
  return 0;
}

errcode_t source_set_blksize(io_channel ch, int blksize) {
  ch->block_size = blksize;
  return 0;
}

errcode_t source_read_blk64(io_channel ch, unsigned long long block, int count, void* data) {
  ChannelState* st = state_of(ch);
  // count < 0 means -count bytes (libext2fs convention), else count blocks.
  uint64_t len = count < 0 ? static_cast<uint64_t>(-static_cast<int64_t>(count))
                           : static_cast<uint64_t>(count) * static_cast<uint64_t>(ch->block_size);
  uint64_t bs = static_cast<uint64_t>(ch->block_size);
  if (bs == 0 || block > UINT64_MAX / bs) return EXT2_ET_LLSEEK_FAILED;
  try {
    st->volume->read(block * bs, static_cast<size_t>(len), st->buf, "ext block");
  } catch (const FsRejected&) {
    return EXT2_ET_SHORT_READ;  // a block number from disk beyond the volume
  } catch (...) {
    st->io_error = std::current_exception();
    return EXT2_ET_SHORT_READ;
  }
  std::memcpy(data, st->buf.data(), static_cast<size_t>(len));
  return 0;
}

errcode_t source_read_blk(io_channel ch, unsigned long block, int count, void* data) {
  return source_read_blk64(ch, block, count, data);
}

errcode_t source_write_blk(io_channel, unsigned long, int, const void*) {
  return EXT2_ET_RO_FILSYS;
}
errcode_t source_write_blk64(io_channel, unsigned long long, int, const void*) {
  return EXT2_ET_RO_FILSYS;
}
errcode_t source_flush(io_channel) {
  return 0;
}

errcode_t source_open(const char* name, int flags, io_channel* channel);

struct_io_manager g_source_manager = [] {
  struct_io_manager m{};
  m.magic = EXT2_ET_MAGIC_IO_MANAGER;
  m.name = "vssimg block source";
  m.open = source_open;
  m.close = source_close;
  m.set_blksize = source_set_blksize;
  m.read_blk = source_read_blk;
  m.write_blk = source_write_blk;
  m.flush = source_flush;
  m.read_blk64 = source_read_blk64;
  m.write_blk64 = source_write_blk64;
  return m;
}();

errcode_t source_open(const char* name, int flags, io_channel* channel) {
  if (!t_opening) return EXT2_ET_BAD_DEVICE_NAME;
  if (flags & IO_FLAG_RW) return EXT2_ET_RO_FILSYS;
  auto* ch = static_cast<io_channel>(std::calloc(1, sizeof(struct_io_channel)));
  if (!ch) return EXT2_ET_NO_MEMORY;
  ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
  ch->manager = &g_source_manager;
  ch->name = strdup(name ? name : "");
  ch->block_size = 1024;
  ch->refcount = 1;
  ch->private_data = t_opening;
  *channel = ch;
  return 0;
}

// After a libext2fs call: an I/O error of the source (kept by the channel) propagates
// as it was; a libext2fs error code is a rejection, `doing` saying of what.
void throw_if_failed(errcode_t err, const ChannelState& state, const char* doing) {
  if (state.io_error) std::rethrow_exception(state.io_error);
  if (err) throw FsRejected(fmt::format("{}: {}", doing, ext_error(err)));
}

ExtFsHandle open_filesystem(VolumeReader& volume, ChannelState& state) {
  ExtFsHandle fs;
  errcode_t err = open_ext_filesystem(volume, state, fs);
  throw_if_failed(err, state, "opening with libext2fs");
  return fs;
}

// The bitmap is trusted only on a cleanly unmounted filesystem with nothing to replay.
void check_clean(ext2_super_block* sb) {
  // A journal that needs replaying may hold allocations the bitmap does not show yet:
  // after restore and replay, files would point into blocks we skipped.
  if (ext2fs_has_feature_journal_needs_recovery(sb)) {
    throw FsRejected("journal needs recovery (mounted or not cleanly unmounted)");
  }
  if (!(sb->s_state & EXT2_VALID_FS)) throw FsRejected("not cleanly unmounted (state not valid)");
  if (sb->s_state & EXT2_ERROR_FS) throw FsRejected("filesystem has errors recorded (run e2fsck)");
  if (ext2fs_has_feature_journal_dev(sb)) throw FsRejected("external journal device");
}

// Bitmap and inode table locations inside their groups, and descriptor checksums.
void check_group_descriptors(ext2_filsys fs, const ChannelState& state) {
  throw_if_failed(ext2fs_check_desc(fs), state, "group descriptors");
  // ext2fs_open2 and ext2fs_check_desc leave descriptor checksums to e2fsck.
  if (ext2fs_has_group_desc_csum(fs)) {
    for (dgrp_t g = 0; g < fs->group_desc_count; ++g) {
      if (!ext2fs_group_desc_csum_verify(fs, g)) {
        throw FsRejected(fmt::format("group descriptor {}: checksum mismatch", g));
      }
    }
  }
}

// The used blocks of the loaded block bitmap as byte ranges in increasing order, and
// the number of used clusters they make.
struct BitmapRanges {
  std::vector<ByteRange> used;
  uint64_t used_clusters = 0;
};

BitmapRanges bitmap_ranges(ext2_filsys fs) {
  const uint64_t bs = fs->blocksize;
  const blk64_t first = fs->super->s_first_data_block;
  const blk64_t count = ext2fs_blocks_count(fs->super);
  const uint64_t ratio = EXT2FS_CLUSTER_RATIO(fs);
  ext2fs_block_bitmap bmap = fs->block_map;

  RangeBuilder builder;
  // Blocks before s_first_data_block (the boot block of 1 KiB-block filesystems) are not
  // in the bitmap; the 1 KiB boot area and the superblock are always used.
  builder.add(0, std::max<uint64_t>(first * bs, 2048));
  uint64_t used_clusters = 0;
  blk64_t pos = first;
  while (pos < count) {
    blk64_t set_at = 0;
    if (ext2fs_find_first_set_block_bitmap2(bmap, pos, count - 1, &set_at) != 0) break;
    blk64_t zero_at = 0;
    blk64_t run_end = ext2fs_find_first_zero_block_bitmap2(bmap, set_at, count - 1, &zero_at) == 0
                          ? zero_at
                          : count;
    if (run_end <= set_at) throw FsRejected("block bitmap search did not advance");
    uint64_t off = set_at * bs;
    uint64_t end = run_end * bs;
    if (off < 2048) off = std::min<uint64_t>(2048, end);
    builder.add(off, end - off);
    // Cluster-aligned runs with bigalloc; count clusters for the free-count check.
    used_clusters += (run_end - set_at + ratio - 1) / ratio;
    pos = run_end;
  }
  return {std::move(builder.ranges()), used_clusters};
}

// Free counts: the group descriptors (updated with every allocation) must agree with
// the bitmap; a mismatch means e2fsck has work to do and the bitmap is not trusted.
void check_free_counts(ext2_filsys fs, uint64_t used_clusters) {
  const blk64_t first = fs->super->s_first_data_block;
  const blk64_t count = ext2fs_blocks_count(fs->super);
  const uint64_t ratio = EXT2FS_CLUSTER_RATIO(fs);
  uint64_t total_clusters = (count - first + ratio - 1) / ratio;
  uint64_t bitmap_free = total_clusters - std::min(used_clusters, total_clusters);
  uint64_t gd_free = 0;
  for (dgrp_t g = 0; g < fs->group_desc_count; ++g) gd_free += ext2fs_bg_free_blocks_count(fs, g);
  if (gd_free != bitmap_free) {
    throw FsRejected(fmt::format("group descriptors count {} free clusters, block bitmap {}",
                                 gd_free, bitmap_free));
  }
  uint64_t sb_free = ext2fs_free_blocks_count(fs->super);
  if (sb_free != bitmap_free * ratio) {
    throw FsRejected(fmt::format("superblock counts {} free blocks, block bitmap {}", sb_free,
                                 bitmap_free * ratio));
  }
}

}  // namespace

std::string ext_error(errcode_t code) {
  // error_message() knows libext2fs's codes only once their com_err table is added.
  static std::once_flag once;
  std::call_once(once, [] { initialize_ext2_error_table(); });
  const char* text = error_message(code);
  return text ? text : fmt::format("error {}", code);
}

void precheck_ext_superblock(VolumeReader& volume) {
  std::vector<uint8_t> sb = volume.read(1024, 1024, "ext superblock");
  const uint8_t* s = sb.data();
  uint32_t log_block = get_u32(s + 24);
  if (log_block > 6)
    throw FsRejected(fmt::format("superblock: block size 2^(10+{}) too large", log_block));
  uint64_t bs = uint64_t{1024} << log_block;
  uint32_t incompat = get_u32(s + 0x60);
  uint64_t blocks = get_u32(s + 4);
  if (incompat & 0x80) blocks |= uint64_t{get_u32(s + 0x150)} << 32;  // INCOMPAT_64BIT
  if (blocks == 0 || blocks > volume.size() / bs) {
    throw FsRejected(fmt::format("superblock: {} blocks of {} bytes do not fit the {}-byte volume",
                                 blocks, bs, volume.size()));
  }
  if (get_u32(s + 32) == 0 || get_u32(s + 40) == 0)
    throw FsRejected("superblock: zero blocks or inodes per group");
}

errcode_t open_ext_filesystem(VolumeReader& volume, ExtChannelState& state, ExtFsHandle& fs) {
  static std::once_flag once;
  // com_err's default hook writes to stderr (libext2fs reports some bitmap misuse so).
  std::call_once(once, [] { set_com_err_hook([](const char*, long, const char*, va_list) {}); });
  state.volume = &volume;
  ext2_filsys raw = nullptr;
  t_opening = &state;
  errcode_t err =
      ext2fs_open2(volume.source().name().c_str(), nullptr, EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP,
                   0, 0, &g_source_manager, &raw);
  t_opening = nullptr;
  fs.reset(raw);
  return err;
}

std::string ext_variant(ext2_super_block* sb) {
  if (ext2fs_has_feature_extents(sb) || ext2fs_has_feature_flex_bg(sb)) return "ext4";
  return ext2fs_has_feature_journal(sb) ? "ext3" : "ext2";
}

FsScan scan_ext(VolumeReader& volume) {
  precheck_ext_superblock(volume);
  ChannelState state;
  ExtFsHandle fs = open_filesystem(volume, state);
  check_clean(fs->super);
  // Extent trees, not bit arrays: the bitmaps of a 16 TiB volume (the one read here and
  // the one ext2fs_check_desc builds) cost memory by their runs, not 512 MiB of bits each.
  fs->default_bitmap_type = EXT2FS_BMAP64_RBTREE;
  check_group_descriptors(fs.get(), state);
  throw_if_failed(ext2fs_read_block_bitmap(fs.get()), state, "reading block bitmap");
  BitmapRanges bitmap = bitmap_ranges(fs.get());
  check_free_counts(fs.get(), bitmap.used_clusters);

  const uint64_t bs = fs->blocksize;
  const blk64_t count = ext2fs_blocks_count(fs->super);
  const uint64_t ratio = EXT2FS_CLUSTER_RATIO(fs.get());
  std::vector<ByteRange>& used = bitmap.used;
  // Anything after the filesystem on a larger source is kept.
  used.push_back({count * bs, volume.size() - count * bs});

  FsScan scan;
  scan.filesystem = ext_variant(fs->super);
  scan.summary = fmt::format("block bitmap of {} blocks of {} bytes{}", count, bs,
                             ratio > 1 ? fmt::format(", {}-block clusters", ratio) : std::string());
  scan.used = std::move(used);
  return scan;
}

}  // namespace vssimg
