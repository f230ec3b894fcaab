// Placeholder until the reader lands: recognises nothing.
#include "core/fs/file_tree.hpp"

namespace vssimg {

std::unique_ptr<FileTree> open_ntfs_tree(BlockSource& source) {
  (void)source;
  return nullptr;
}

}  // namespace vssimg
