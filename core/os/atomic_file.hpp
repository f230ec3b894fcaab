// Writes a file so that it appears complete or not at all: data goes to a temporary
// file in `tmp_dir`, commit() flushes it, renames it into place and flushes the
// directory. A destroyed uncommitted AtomicFile removes its temporary file.
#pragma once

#include "core/os/file.hpp"

#include <filesystem>

namespace vssimg {

class AtomicFile {
 public:
  AtomicFile(std::filesystem::path final_path, const std::filesystem::path& tmp_dir);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  File& file() { return m_file; }
  void append(const void* data, size_t len) { m_file.append(data, len); }
  uint64_t size() const { return m_file.append_position(); }
  const std::filesystem::path& final_path() const { return m_final; }

  // Flush, rename into place (never over an existing file unless `replace`), flush the
  // directory. After commit the object is inert.
  void commit(bool replace = false);
  // Deletes the temporary file now.
  void discard();

 private:
  std::filesystem::path m_final;
  std::filesystem::path m_tmp;
  File m_file;
  bool m_done = false;
};

}  // namespace vssimg
