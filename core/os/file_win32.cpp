#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "core/os/win32.hpp"

#include <fcntl.h>
#include <io.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string_view>
#include <utility>

namespace vssimg {

namespace {

HANDLE handle_of(intptr_t h) {
  return reinterpret_cast<HANDLE>(h);
}
// INVALID_HANDLE_VALUE is (HANDLE)-1, the same "no handle" value File uses on POSIX.
constexpr intptr_t k_no_handle = -1;
// ReadFile/WriteFile take a DWORD length; stay well below it.
constexpr size_t k_max_io = 1u << 30;

OVERLAPPED at_offset(uint64_t offset) {
  OVERLAPPED ov{};
  ov.Offset = static_cast<DWORD>(offset);
  ov.OffsetHigh = static_cast<DWORD>(offset >> 32);
  return ov;
}

}  // namespace

File::File(const std::filesystem::path& path, Open mode) : m_path(path) {
  DWORD access = GENERIC_READ;
  DWORD disposition = OPEN_EXISTING;
  const char* op = "opening";
  switch (mode) {
    case Open::read:
      break;
    case Open::create_new:
      access |= GENERIC_WRITE;
      disposition = CREATE_NEW;
      op = "creating";
      break;
    case Open::create_trunc:
      access |= GENERIC_WRITE;
      disposition = CREATE_ALWAYS;
      op = "creating";
      break;
    case Open::read_write:
      access |= GENERIC_WRITE;
      break;
  }
  // FILE_SHARE_DELETE lets another process rename or delete a file we hold open, as on
  // POSIX (the store renames temporary files into place while readers are active).
  HANDLE h = ::CreateFileW(win32::api_path(path).c_str(), access,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                           disposition, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) win32::throw_last_error(op, win32::utf8_path(path), "CreateFileW");
  m_handle = reinterpret_cast<intptr_t>(h);
}

File::~File() {
  if (m_handle != k_no_handle) ::CloseHandle(handle_of(m_handle));
}

File::File(File&& other) noexcept
    : m_path(std::move(other.m_path)),
      m_handle(std::exchange(other.m_handle, k_no_handle)),
      m_append_pos(other.m_append_pos) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (m_handle != k_no_handle) ::CloseHandle(handle_of(m_handle));
    m_path = std::move(other.m_path);
    m_handle = std::exchange(other.m_handle, k_no_handle);
    m_append_pos = other.m_append_pos;
  }
  return *this;
}

bool File::is_open() const {
  return m_handle != k_no_handle;
}

size_t File::read_at(void* buf, size_t len, uint64_t offset) const {
  size_t done = 0;
  while (done < len) {
    DWORD want = static_cast<DWORD>(std::min(len - done, k_max_io));
    DWORD got = 0;
    OVERLAPPED ov = at_offset(offset + done);
    if (!::ReadFile(handle_of(m_handle), static_cast<char*>(buf) + done, want, &got, &ov)) {
      DWORD err = ::GetLastError();
      if (err == ERROR_HANDLE_EOF) break;
      win32::throw_win32("reading",
                         win32::utf8_path(m_path) + " at offset " + std::to_string(offset + done),
                         "ReadFile", err);
    }
    if (got == 0) break;
    done += got;
  }
  return done;
}

void File::read_exact_at(void* buf, size_t len, uint64_t offset) const {
  if (read_at(buf, len, offset) != len) {
    throw Error(ErrorKind::damage, "reading",
                win32::utf8_path(m_path) + " at offset " + std::to_string(offset),
                "unexpected end of file");
  }
}

void File::write_at(const void* buf, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    DWORD want = static_cast<DWORD>(std::min(len - done, k_max_io));
    DWORD put = 0;
    OVERLAPPED ov = at_offset(offset + done);
    if (!::WriteFile(handle_of(m_handle), static_cast<const char*>(buf) + done, want, &put, &ov)) {
      win32::throw_last_error("writing", win32::utf8_path(m_path), "WriteFile");
    }
    if (put == 0)
      win32::throw_win32("writing", win32::utf8_path(m_path), "WriteFile", ERROR_DISK_FULL);
    done += put;
  }
}

void File::append(const void* buf, size_t len) {
  write_at(buf, len, m_append_pos);
  m_append_pos += len;
}

std::optional<File> File::open_direct_write(const std::filesystem::path&) {
  return std::nullopt;  // FILE_FLAG_NO_BUFFERING restores are not implemented
}

// Windows has no asynchronous flush of a range; FlushFileBuffers at sync() does it all.
void File::start_writeback(uint64_t offset, uint64_t len) {
  (void)offset;
  (void)len;
}

void File::sync() {
  if (!::FlushFileBuffers(handle_of(m_handle))) {
    win32::throw_last_error("flushing", win32::utf8_path(m_path), "FlushFileBuffers");
  }
}

uint64_t File::size() const {
  LARGE_INTEGER size{};
  if (!::GetFileSizeEx(handle_of(m_handle), &size)) {
    win32::throw_last_error("reading size of", win32::utf8_path(m_path), "GetFileSizeEx");
  }
  return static_cast<uint64_t>(size.QuadPart);
}

void File::resize(uint64_t size) {
  FILE_END_OF_FILE_INFO info{};
  info.EndOfFile.QuadPart = static_cast<LONGLONG>(size);
  if (!::SetFileInformationByHandle(handle_of(m_handle), FileEndOfFileInfo, &info, sizeof info)) {
    win32::throw_last_error("resizing", win32::utf8_path(m_path), "SetFileInformationByHandle");
  }
}

void File::advise_sequential() const {
  // Windows takes this hint only at open time (FILE_FLAG_SEQUENTIAL_SCAN); its
  // read-ahead detects sequential positioned reads on its own.
}

void File::close() {
  if (m_handle != k_no_handle) {
    HANDLE h = handle_of(std::exchange(m_handle, k_no_handle));
    if (!::CloseHandle(h))
      win32::throw_last_error("closing", win32::utf8_path(m_path), "CloseHandle");
  }
}

// Same contract and code as the POSIX version: only File's methods differ.
std::string read_small_file(const std::filesystem::path& path, size_t max_size) {
  File f(path, File::Open::read);
  uint64_t size = f.size();
  if (size > max_size) {
    throw Error(ErrorKind::damage, "reading", win32::utf8_path(path),
                "file is " + std::to_string(size) + " bytes, more than the " +
                    std::to_string(max_size) + " expected");
  }
  std::string data(static_cast<size_t>(size), '\0');
  f.read_exact_at(data.data(), data.size(), 0);
  return data;
}

void sync_directory(const std::filesystem::path&) {
  // NTFS journals directory entries; MoveFileExW(MOVEFILE_WRITE_THROUGH) in the rename
  // functions below returns only once the rename is on disk.
}

void rename_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (!::MoveFileExW(win32::api_path(from).c_str(), win32::api_path(to).c_str(),
                     MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    win32::throw_last_error("renaming", win32::utf8_path(from) + " to " + win32::utf8_path(to),
                            "MoveFileExW");
  }
}

bool rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (!::MoveFileExW(win32::api_path(from).c_str(), win32::api_path(to).c_str(),
                     MOVEFILE_WRITE_THROUGH)) {
    DWORD err = ::GetLastError();
    if (err == ERROR_ALREADY_EXISTS || err == ERROR_FILE_EXISTS) return false;
    win32::throw_win32("renaming", win32::utf8_path(from) + " to " + win32::utf8_path(to),
                       "MoveFileExW", err);
  }
  return true;
}

namespace {

// A log file ("a"): opened for FILE_APPEND_DATA only, so that Windows puts every write at
// the end itself. msvcrt's own append mode moves the file pointer to the end and then
// writes: two processes logging to one file (a nightly task and an admin's run) can
// overwrite each other's lines between the two steps. (Under Wine, scripts/test-windows
// once found the start of a line missing and the rest there, in a log that processes run
// one after another had appended to.)
std::FILE* open_append_only(const std::filesystem::path& path) {
  HANDLE h = ::CreateFileW(win32::api_path(path).c_str(), FILE_APPEND_DATA | SYNCHRONIZE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                           OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    const DWORD err = ::GetLastError();
    errno = err == ERROR_ACCESS_DENIED                                   ? EACCES
            : err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND ? ENOENT
                                                                         : EIO;
    return nullptr;
  }
  const int fd = ::_open_osfhandle(reinterpret_cast<intptr_t>(h), _O_APPEND | _O_TEXT);
  if (fd < 0) {
    ::CloseHandle(h);
    return nullptr;
  }
  std::FILE* f = ::_fdopen(fd, "a");
  if (!f) ::_close(fd);
  return f;
}

}  // namespace

std::FILE* open_stdio_file(const std::filesystem::path& path, const char* mode) {
  if (std::string_view(mode) == "a") return open_append_only(path);
  return ::_wfopen(win32::api_path(path).c_str(), win32::widen(mode).c_str());
}

}  // namespace vssimg
