// libFuzzer target: the ext2/3/4 FileTree (libext2fs over the fuzz input): open, list
// recursively (depth and entry count bounded here), look each entry up again, read every
// file (bytes bounded here). Error is the expected answer to damage; any other exception,
// a crash, a hang, or a sink call outside the file's size is a bug.
#include "core/base/error.hpp"
#include "core/fs/file_tree.hpp"
#include "tests/fuzz/fuzz_sparse_source.hpp"

#include <string>
#include <vector>

namespace {

constexpr size_t k_max_depth = 8;
constexpr size_t k_max_entries = 2000;
constexpr uint64_t k_max_bytes = 64ull << 20;

struct Enough {};  // the harness's budget is spent: stop this input

struct Walk {
  vssimg::FileTree& tree;
  size_t entries = 0;
  uint64_t bytes = 0;

  void read(const vssimg::TreeEntry& e) {
    uint64_t next = 0;
    tree.read(e, "", [&](uint64_t offset, const uint8_t*, size_t len) {
      if (offset < next || offset > e.size || len > e.size - offset) __builtin_trap();
      next = offset + len;
      bytes += len;
      if (bytes > k_max_bytes) throw Enough{};
    });
  }

  void dir(const vssimg::TreeEntry& d, std::vector<std::string>& path) {
    if (path.size() > k_max_depth) return;
    std::vector<vssimg::TreeEntry> list;
    try {
      list = tree.list(d);
    } catch (const vssimg::Error&) {
      return;
    }
    for (const vssimg::TreeEntry& e : list) {
      if (++entries > k_max_entries) throw Enough{};
      path.push_back(e.name);
      try {
        tree.lookup(path);  // hostile names ("a/b", duplicates) may find nothing or another
        if (e.type == vssimg::EntryType::file) read(e);
        if (e.type == vssimg::EntryType::directory) dir(e, path);
      } catch (const vssimg::Error&) {
      }
      path.pop_back();
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vssimg::fuzz::SparseSource source(data, size);
  try {
    std::unique_ptr<vssimg::FileTree> tree = vssimg::open_ext_tree(source);
    if (!tree) return 0;
    Walk walk{*tree};
    std::vector<std::string> path;
    walk.dir(tree->root(), path);
  } catch (const vssimg::Error&) {
  } catch (const Enough&) {
  }
  return 0;
}
