#include "core/source/block_source.hpp"
#include "core/base/error.hpp"
#include "core/os/file.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace vssimg {

namespace {

class PosixSource final : public BlockSource {
 public:
  PosixSource(std::string path, File file, uint64_t size, bool device)
      : m_path(std::move(path)), m_file(std::move(file)), m_size(size), m_device(device) {}

  std::string name() const override { return m_path; }
  uint64_t size() const override { return m_size; }
  bool is_device() const override { return m_device; }

  void read_at(void* buf, size_t len, uint64_t offset) override {
    size_t got = m_file.read_at(buf, len, offset);
    if (got != len) {
      throw Error("reading", m_path + " at offset " + std::to_string(offset + got),
                  "source ended early: it changed while being read (it is shorter now); "
                  "back up a snapshot of it (VSS, LVM), not the live source");
    }
  }

  // SEEK_DATA/SEEK_HOLE (regular files only); lseek moves the file position, which no
  // read uses (positioned reads).
  SourceRun run_at(uint64_t offset) override {
    const SourceRun data_to_end{false, m_size};
    if (m_device || offset >= m_size) return data_to_end;
    const int fd = static_cast<int>(m_file.native());
    SourceRun run = data_to_end;
    off_t data = ::lseek(fd, static_cast<off_t>(offset), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) run = SourceRun{true, m_size};
    } else if (static_cast<uint64_t>(data) > offset) {
      run = SourceRun{true, std::min<uint64_t>(static_cast<uint64_t>(data), m_size)};
    } else {
      off_t hole = ::lseek(fd, static_cast<off_t>(offset), SEEK_HOLE);
      if (hole > 0 && static_cast<uint64_t>(hole) > offset)
        run = SourceRun{false, std::min<uint64_t>(static_cast<uint64_t>(hole), m_size)};
    }
    // A file whose size changed since it was opened gets no holes: its reads report the
    // change (the end of a shrunk file would otherwise look like a hole).
    struct stat st;
    if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != m_size) return data_to_end;
    return run;
  }

  void will_read(uint64_t offset, uint64_t len) override {
    ::posix_fadvise(static_cast<int>(m_file.native()), static_cast<off_t>(offset),
                    static_cast<off_t>(len), POSIX_FADV_WILLNEED);
  }

 private:
  std::string m_path;
  File m_file;
  uint64_t m_size;
  bool m_device;
};

}  // namespace

std::unique_ptr<BlockSource> open_block_source(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw_errno("opening source", path, errno);
  if (S_ISDIR(st.st_mode)) {
    throw Error("opening source", path, "is a directory; give an image file or a block device");
  }
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    throw Error("opening source", path, "is neither a regular file nor a block device");
  }
  File file(path, File::Open::read);
  uint64_t size = 0;
  bool device = S_ISBLK(st.st_mode);
  if (device) {
    if (::ioctl(static_cast<int>(file.native()), BLKGETSIZE64, &size) != 0) {
      throw_errno("reading size of", path, errno);
    }
  } else {
    size = static_cast<uint64_t>(st.st_size);
  }
  if (size == 0) throw Error("opening source", path, "is empty (0 bytes)");
  file.advise_sequential();
  return std::make_unique<PosixSource>(path, std::move(file), size, device);
}

}  // namespace vssimg
