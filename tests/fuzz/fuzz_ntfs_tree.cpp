// libFuzzer target: the NTFS FileTree (directory B+ trees, attribute lists, runlists,
// LZNT1) on hostile images in the SparseSource format. Opens the tree, lists it
// recursively (bounded) and reads every file and named stream. Error is the expected
// way out; any other exception, a crash or a sanitizer report is a bug, and so is data
// passed to the sink outside the file's size.
#include "core/base/error.hpp"
#include "core/fs/file_tree.hpp"
#include "tests/fuzz/fuzz_sparse_source.hpp"

namespace {

constexpr unsigned k_max_depth = 8;
constexpr size_t k_max_entries = 2000;

void visit(vssimg::FileTree& tree, const vssimg::TreeEntry& dir, unsigned depth, size_t& seen) {
  if (depth > k_max_depth) return;
  std::vector<vssimg::TreeEntry> entries;
  try {
    entries = tree.list(dir);
  } catch (const vssimg::Error&) {
    return;
  }
  for (const vssimg::TreeEntry& e : entries) {
    if (++seen > k_max_entries) return;
    if (e.type == vssimg::EntryType::directory) {
      visit(tree, e, depth + 1, seen);
      continue;
    }
    std::vector<std::string> streams = e.streams;
    streams.insert(streams.begin(), "");
    for (const std::string& s : streams) {
      try {
        tree.read(e, s, [&](uint64_t off, const uint8_t*, size_t n) {
          if (s.empty() && off + n > e.size) __builtin_trap();
        });
      } catch (const vssimg::Error&) {
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vssimg::fuzz::SparseSource source(data, size);
  try {
    std::unique_ptr<vssimg::FileTree> tree = vssimg::open_ntfs_tree(source);
    if (!tree) return 0;
    size_t seen = 0;
    visit(*tree, tree->root(), 0, seen);
    (void)tree->lookup({"a", "B", "c.txt"});
  } catch (const vssimg::Error&) {
  }
  return 0;
}
