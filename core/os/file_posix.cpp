#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "core/os/test_seams.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace vssimg {

namespace {
int fd_of(intptr_t h) {
  return static_cast<int>(h);
}

// Test-only faults (core/os/test_seams.hpp, VSSIMG_FAULT): the error to inject into this
// operation on `path`, or 0. KILL and STOP raise their signal here.
enum FaultOp { k_fault_write, k_fault_fsync, k_fault_rename };

int injected_fault(FaultOp op, const std::filesystem::path& path) {
  static const char* const k_names[] = {"write", "fsync", "rename"};
  const test_seams::FaultPlan& plan = test_seams::fault_plan();
  if (plan.op != k_names[op] || path.string().find(plan.match) == std::string::npos) return 0;
  static std::atomic<unsigned long> count{0};
  unsigned long n = ++count;
  if (n != plan.n && !(plan.from_n && n > plan.n)) return 0;
  if (plan.action == "KILL") ::raise(SIGKILL);
  if (plan.action == "STOP") ::raise(SIGSTOP);
  return plan.action == "ENOSPC" ? ENOSPC : plan.action == "EIO" ? EIO : 0;
}

// EACCES and EPERM are privilege errors (exit 14) wherever a file is opened.
ErrorKind permission_kind(int err) {
  return err == EACCES || err == EPERM ? ErrorKind::privilege : ErrorKind::failure;
}

// Test-only bad sectors (core/os/test_seams.hpp, VSSIMG_FAULT_READ).
bool injected_read_fault(const std::filesystem::path& path, size_t len, uint64_t offset) {
  // The name is only built when a read fault is armed (a test): a read allocates nothing.
  if (!std::getenv("VSSIMG_FAULT_READ")) return false;
  return test_seams::read_fault(path.filename().string(), len, offset);
}
}  // namespace

File::File(const std::filesystem::path& path, Open mode) : m_path(path) {
  int flags = O_CLOEXEC;
  const char* op = "opening";
  switch (mode) {
    case Open::read:
      flags |= O_RDONLY;
      break;
    case Open::create_new:
      flags |= O_RDWR | O_CREAT | O_EXCL;
      op = "creating";
      break;
    case Open::create_trunc:
      flags |= O_RDWR | O_CREAT | O_TRUNC;
      op = "creating";
      break;
    case Open::read_write:
      flags |= O_RDWR;
      break;
  }
  // A block device opened for writing is claimed exclusively (O_EXCL): the kernel refuses
  // it while mounted or while an LVM, md or device-mapper device is built on it.
  struct stat st;
  const bool device =
      mode == Open::read_write && ::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode);
  if (device) flags |= O_EXCL;
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    const int err = errno;
    if (device && err == EBUSY) {
      throw Error(ErrorKind::usage, op, path.string(),
                  "device is in use (mounted, or an LVM, md RAID or device-mapper device is "
                  "built on it)");
    }
    throw_errno(op, path.string(), err, permission_kind(err));
  }
  m_handle = fd;
}

std::optional<File> File::open_direct_write(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  File f;
  f.m_path = path;
  f.m_handle = fd;
  return f;
}

File::~File() {
  if (m_handle >= 0) ::close(fd_of(m_handle));
}

File::File(File&& other) noexcept
    : m_path(std::move(other.m_path)),
      m_handle(std::exchange(other.m_handle, -1)),
      m_append_pos(other.m_append_pos) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (m_handle >= 0) ::close(fd_of(m_handle));
    m_path = std::move(other.m_path);
    m_handle = std::exchange(other.m_handle, -1);
    m_append_pos = other.m_append_pos;
  }
  return *this;
}

bool File::is_open() const {
  return m_handle >= 0;
}

size_t File::read_at(void* buf, size_t len, uint64_t offset) const {
  if (injected_read_fault(m_path, len, offset)) {
    throw_errno("reading", m_path.string() + " at offset " + std::to_string(offset), EIO);
  }
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd_of(m_handle), static_cast<char*>(buf) + done, len - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("reading", m_path.string() + " at offset " + std::to_string(offset + done),
                  errno);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

void File::read_exact_at(void* buf, size_t len, uint64_t offset) const {
  if (read_at(buf, len, offset) != len) {
    throw Error(ErrorKind::damage, "reading",
                m_path.string() + " at offset " + std::to_string(offset), "unexpected end of file");
  }
}

void File::write_at(const void* buf, size_t len, uint64_t offset) {
  if (int err = injected_fault(k_fault_write, m_path)) throw_errno("writing", m_path.string(), err);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(fd_of(m_handle), static_cast<const char*>(buf) + done, len - done,
                         static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("writing", m_path.string(), errno);
    }
    if (n == 0) throw_errno("writing", m_path.string(), ENOSPC);
    done += static_cast<size_t>(n);
  }
}

void File::append(const void* buf, size_t len) {
  write_at(buf, len, m_append_pos);
  m_append_pos += len;
}

void File::sync() {
  if (int err = injected_fault(k_fault_fsync, m_path))
    throw_errno("flushing", m_path.string(), err);
  if (::fsync(fd_of(m_handle)) != 0) throw_errno("flushing", m_path.string(), errno);
}

void File::start_writeback(uint64_t offset, uint64_t len) {
#ifdef SYNC_FILE_RANGE_WRITE
  // Best effort: an error here shows up again at sync(), which reports it.
  ::sync_file_range(fd_of(m_handle), static_cast<off_t>(offset), static_cast<off_t>(len),
                    SYNC_FILE_RANGE_WRITE);
#else
  (void)offset;
  (void)len;
#endif
}

uint64_t File::size() const {
  struct stat st;
  if (::fstat(fd_of(m_handle), &st) != 0) throw_errno("reading size of", m_path.string(), errno);
  return static_cast<uint64_t>(st.st_size);
}

void File::resize(uint64_t size) {
  if (::ftruncate(fd_of(m_handle), static_cast<off_t>(size)) != 0) {
    throw_errno("resizing", m_path.string(), errno);
  }
}

void File::advise_sequential() const {
  ::posix_fadvise(fd_of(m_handle), 0, 0, POSIX_FADV_SEQUENTIAL);
}

void File::close() {
  if (m_handle >= 0) {
    int rc = ::close(fd_of(m_handle));
    m_handle = -1;
    if (rc != 0 && errno != EINTR) throw_errno("closing", m_path.string(), errno);
  }
}

std::string read_small_file(const std::filesystem::path& path, size_t max_size) {
  File f(path, File::Open::read);
  uint64_t size = f.size();
  if (size > max_size) {
    throw Error(ErrorKind::damage, "reading", path.string(),
                "file is " + std::to_string(size) + " bytes, more than the " +
                    std::to_string(max_size) + " expected");
  }
  std::string data(static_cast<size_t>(size), '\0');
  f.read_exact_at(data.data(), data.size(), 0);
  return data;
}

void sync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno("opening directory", dir.string(), errno);
  int rc = ::fsync(fd);
  int err = errno;
  if (int fault = injected_fault(k_fault_fsync, dir)) rc = -1, err = fault;
  ::close(fd);
  // Some filesystems (e.g. CIFS) refuse fsync on directories; that is not data loss.
  if (rc != 0 && err != EINVAL && err != ENOTSUP)
    throw_errno("flushing directory", dir.string(), err);
}

void rename_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (int err = injected_fault(k_fault_rename, from))
    throw_errno("renaming", from.string() + " to " + to.string(), err);
  if (::rename(from.c_str(), to.c_str()) != 0) {
    throw_errno("renaming", from.string() + " to " + to.string(), errno);
  }
}

bool rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (int err = injected_fault(k_fault_rename, from))
    throw_errno("renaming", from.string() + " to " + to.string(), err);
  if (::link(from.c_str(), to.c_str()) != 0) {
    if (errno == EEXIST) return false;
    if (errno == EPERM || errno == ENOTSUP || errno == EXDEV) {
      // Filesystems without hard links: fall back to check-then-rename.
      if (::access(to.c_str(), F_OK) == 0) return false;
      rename_replace(from, to);
      return true;
    }
    throw_errno("renaming", from.string() + " to " + to.string(), errno);
  }
  ::unlink(from.c_str());
  return true;
}

std::FILE* open_stdio_file(const std::filesystem::path& path, const char* mode) {
  return std::fopen(path.c_str(), mode);
}

}  // namespace vssimg
