// Builds without libext2fs (the Windows build): ext volumes are detected and imaged
// whole, and their files are not listed (ls/extract say so instead of "no filesystem").
#include "core/base/error.hpp"
#include "core/fs/file_tree.hpp"
#include "core/fs/fs_volume.hpp"

namespace vssimg {

FsScan scan_ext(VolumeReader&) {
  throw FsRejected("this build reads ext bitmaps only with libext2fs (Linux build)");
}

std::unique_ptr<FileTree> open_ext_tree(BlockSource& source) {
  if (source.size() < 4096) return nullptr;
  VolumeReader volume(source);
  std::vector<uint8_t> head = volume.read(0, 4096, "ext superblock");
  if (!looks_like_ext(head.data())) return nullptr;
  throw Error(ErrorKind::usage, "reading files", source.name(),
              "ext2/3/4 is not supported in the Windows build; use the Linux build or export "
              "to VHDX");
}

}  // namespace vssimg
