// What `ls` and `extract` share: paths inside a point as users type them, and a point
// opened as a FileTree (the store locked shared, its index loaded once, the volume read
// through PointSource).
#pragma once

#include "core/fs/file_tree.hpp"
#include "image/lock.hpp"
#include "image/point_source.hpp"
#include "image/store.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vssimg::cli {

// A path inside the volume. `C:\Users\x\a.txt`, `\Users\x\a.txt` and `/Users/x/a.txt`
// are the same path: a drive letter is ignored, both separators split, "." and empty
// components drop out and ".." goes up (never above the root). On NTFS the last
// component may name a data stream: `a.txt:Zone.Identifier` (`:$DATA` allowed after it).
struct TreePath {
  std::string text;  // as given, for messages
  std::vector<std::string> components;
  std::string stream;  // "" = the unnamed data stream
};

// Parses `text`; `streams` says whether ':' separates a stream name (NTFS) or is part
// of the name (ext). Throws Error(usage) for an empty stream name.
TreePath parse_tree_path(const std::string& text, bool streams);

// `components` joined with '/' ("" for the root).
std::string join_components(const std::vector<std::string>& components);

// True when `name` (a name read from the volume) is safe as one component of a local
// path: not empty, ".", "..", and without separators, NUL or (Windows) a drive colon.
bool is_safe_name(const std::string& name);

// "file", "directory", "symlink", "reparse_point", "other".
const char* entry_type_name(EntryType type);

class OpenedTree {
 public:
  // Locks the store shared for `command`, resolves `point_name` and opens its
  // filesystem. Errors as Store, PointSource and open_file_tree throw them.
  OpenedTree(const std::filesystem::path& store_path, const std::string& point_name,
             const std::string& command, const LockOptions& lock);
  FileTree& tree() { return *m_tree; }
  const Point& point() const { return m_source->point(); }
  PointSourceStats stats() const { return m_source->stats(); }
  // The end of the command's reading (PointSource::report): one warning when blocks came
  // from a further copy, the damage met recorded. Returns how many blocks did.
  size_t report(ProgressSink& progress) { return m_source->report(progress); }

 private:
  Store m_store;
  StoreLock m_lock;
  std::unique_ptr<PointSource> m_source;
  std::unique_ptr<FileTree> m_tree;
};

// Rethrows a damage Error from the tree as damage at `path` (with the tree's cause; for a
// block of the store that no copy gives back, the whole PointReadError, which names the
// point and the volume offset); other errors unchanged. Call from a catch block.
[[noreturn]] void rethrow_at(const std::string& operation, const std::string& path);

}  // namespace vssimg::cli
