// Internal to the libext2fs readers (Linux build): fs_ext_libext2fs.cpp (allocation maps)
// and fs_ext_tree*.cpp (files). libext2fs reads through an io_manager over the
// BlockSource instead of opening source.name() itself: it then reads exactly what the
// caller reads (a snapshot, a point), works for any BlockSource (fuzzing uses an
// in-memory one), and an out-of-range read becomes a short read, not a crash.
#pragma once

#include "core/fs/fs_volume.hpp"

#include <ext2fs/ext2fs.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace vssimg {

// One open filesystem's link to its source. An I/O error of the source (an Error, as
// opposed to a block number from disk beyond the volume) is kept here while libext2fs
// sees a short read; the caller rethrows it once the libext2fs call has returned. One
// thread at a time.
struct ExtChannelState {
  VolumeReader* volume = nullptr;
  std::exception_ptr io_error;
  std::vector<uint8_t> buf;
};

struct ExtFsCloser {
  void operator()(struct_ext2_filsys* fs) const { ext2fs_close_free(&fs); }
};
using ExtFsHandle = std::unique_ptr<struct_ext2_filsys, ExtFsCloser>;

// The text of a libext2fs error code ("Inode checksum does not match inode").
std::string ext_error(errcode_t code);

// Cheap checks of the superblock before libext2fs sees it: the geometry must fit the
// source, so no later block number or table size can be absurd. Throws FsRejected.
void precheck_ext_superblock(VolumeReader& volume);

// Opens the filesystem read-only through `state`'s channel (`state` must outlive the
// handle) with EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP. Returns 0 and sets `fs`, or the
// libext2fs error (then state.io_error may hold the source's). libext2fs's com_err
// messages are silenced: library code never prints.
errcode_t open_ext_filesystem(VolumeReader& volume, ExtChannelState& state, ExtFsHandle& fs);

// "ext2", "ext3" or "ext4" by the features in use.
std::string ext_variant(ext2_super_block* sb);

}  // namespace vssimg
