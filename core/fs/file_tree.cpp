#include "core/fs/file_tree.hpp"

#include "core/base/error.hpp"

namespace vssimg {

std::unique_ptr<FileTree> open_file_tree(BlockSource& source) {
  if (auto tree = open_ntfs_tree(source)) return tree;
  if (auto tree = open_ext_tree(source)) return tree;
  throw Error(ErrorKind::usage, "reading files", source.name(),
              "no filesystem this build can list (NTFS; ext2/3/4 on Linux)");
}

}  // namespace vssimg
