// Builds without libext2fs (the Windows build): ext volumes are detected and imaged whole.
#include "core/fs/fs_volume.hpp"

namespace vssimg {

FsScan scan_ext(VolumeReader&) {
  throw FsRejected("this build reads ext bitmaps only with libext2fs (Linux build)");
}

}  // namespace vssimg
