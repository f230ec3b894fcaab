// A move-only file handle with positioned I/O. POSIX in file_posix.cpp, Windows in
// file_win32.cpp. Every failure throws Error naming the operation, the path and the cause.
#pragma once

#include "core/os/path.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

namespace vssimg {

class File {
 public:
  enum class Open {
    read,          // existing file, read-only
    create_new,    // new file, fails if it exists (O_EXCL)
    create_trunc,  // create or truncate
    read_write,    // existing file, read/write
  };

  File() = default;
  File(const std::filesystem::path& path, Open mode);
  ~File();
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  bool is_open() const;
  const std::filesystem::path& path() const { return m_path; }
  std::string name() const { return path_to_utf8(m_path); }

  // Reads up to len bytes at offset; returns fewer only at end of file.
  size_t read_at(void* buf, size_t len, uint64_t offset) const;
  // Reads exactly len bytes or throws ("unexpected end of file").
  void read_exact_at(void* buf, size_t len, uint64_t offset) const;
  void write_at(const void* buf, size_t len, uint64_t offset);
  // Appends at the handle's own write position (tracked by this object).
  void append(const void* buf, size_t len);
  uint64_t append_position() const { return m_append_pos; }
  void sync();
  // Hint: [offset, offset+len) is written; start writing it to disk now, without
  // waiting, so that the final sync() has less left to do (sync_file_range / no-op).
  void start_writeback(uint64_t offset, uint64_t len);
  uint64_t size() const;
  void resize(uint64_t size);
  // Hint that the file will be read front to back (posix_fadvise / no-op).
  void advise_sequential() const;
  void close();

  // A second, write-only handle on an existing file that bypasses the page cache
  // (O_DIRECT), for writing large aligned blocks of a restore without copying them
  // through the cache. Writes through it need offsets, lengths and buffer addresses
  // that are multiples of k_direct_alignment. Empty if the filesystem refuses it, and
  // on Windows (restores there stay buffered).
  static constexpr size_t k_direct_alignment = 4096;
  static std::optional<File> open_direct_write(const std::filesystem::path& path);

  // Platform handle (fd or HANDLE) for platform-specific callers.
  intptr_t native() const { return m_handle; }

 private:
  std::filesystem::path m_path;
  intptr_t m_handle = -1;
  uint64_t m_append_pos = 0;
};

// std::fopen for a path (_wfopen on Windows, so that any name works; mode "a" there opens
// for FILE_APPEND_DATA only, so that the system appends every write at the end, whoever
// else writes the file). Returns null, with errno set, on failure.
std::FILE* open_stdio_file(const std::filesystem::path& path, const char* mode);

// Reads a whole (small) file. Throws if it cannot be read.
std::string read_small_file(const std::filesystem::path& path, size_t max_size);

// Flushes a directory entry after rename/create (fsync on the directory on POSIX;
// a no-op on Windows, where MoveFileEx with WRITE_THROUGH covers it).
void sync_directory(const std::filesystem::path& dir);

// Renames `from` over `to` atomically (rename / MoveFileExW REPLACE_EXISTING|WRITE_THROUGH).
void rename_replace(const std::filesystem::path& from, const std::filesystem::path& to);

// Renames `from` to `to` only if `to` does not exist (link+unlink / MoveFileExW).
// Returns false when `to` exists.
bool rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace vssimg
