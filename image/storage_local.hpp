// The storage of a store in a local directory (or a network share mounted as one). It owns
// the directory layout of docs/format.md ("Layout": which kind lives in which folder under
// which file name) and the atomic-file protocol: an object is written to tmp/, flushed,
// renamed into place without replacing anything, and its directory flushed. Locks are OS
// locks on files in locks/ (lock_posix.cpp / lock_win32.cpp) plus the holder info files.
#pragma once

#include "image/storage.hpp"

#include <filesystem>
#include <memory>

namespace vssimg {

class LocalStorage final : public Storage {
 public:
  // Creates a new store directory at `root`, which must not exist or be an empty directory.
  static std::unique_ptr<LocalStorage> create_directory(const std::filesystem::path& root);
  // Opens an existing store directory. Throws Error(store_not_found) when `root` is
  // missing, not a directory or has no config; Error(damage) when one of its folders is a
  // symbolic link (nothing is ever written or cleaned outside the store through one).
  static std::unique_ptr<LocalStorage> open_directory(const std::filesystem::path& root);
  // The storage at `root` without any check, for callers that checked it already.
  explicit LocalStorage(std::filesystem::path root) : m_root(std::move(root)) {}
  // Removes this process's tmp/ folder if it is empty.
  ~LocalStorage() override;
  LocalStorage(const LocalStorage&) = delete;
  LocalStorage& operator=(const LocalStorage&) = delete;

  const std::filesystem::path& root() const { return m_root; }
  // Where an object's file is (or would be).
  std::filesystem::path path_of(const ObjectRef& ref) const;
  // This process's folder in tmp/ (docs/format.md, "Concurrency"): tmp/<host>-<pid>-<started>-
  // <random>; another process removes it only once its owner is provably gone.
  std::filesystem::path tmp_dir() const { return m_root / "tmp" / process_tmp_name(); }
  static std::string process_tmp_name();

  std::string location() const override;
  std::string describe(const ObjectRef& ref) const override;
  std::unique_ptr<ObjectWriter> create(const ObjectRef& ref,
                                       WriteMode mode = WriteMode::create_new) const override;
  std::unique_ptr<ObjectReader> open(const ObjectRef& ref) const override;
  std::optional<uint64_t> size(const ObjectRef& ref) const override;
  std::vector<std::string> list(ObjectKind kind) const override;
  bool remove(const ObjectRef& ref) const override;
  void remove_all(ObjectKind kind, const std::vector<std::string>& names) const override;
  size_t clean_leftovers(Leftovers which = Leftovers::dead) const override;
  std::unique_ptr<StorageLock> lock(LockMode mode, WriterLock writer, const std::string& command,
                                    bool read_only_ok = false) const override;

 private:
  void remove_other_infos(const std::string& mine) const;
  std::filesystem::path m_root;
};

}  // namespace vssimg
