#include "image/restore_target.hpp"

#include "core/base/error.hpp"
#include "core/os/path.hpp"
#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <system_error>

namespace vssimg {

namespace {

// Refuses a device the restore must not write (mounted, not asked for, too small).
void check_device(const std::string& name, const TargetInfo& info, uint64_t size, bool force) {
  if (info.is_mounted) {
    throw Error(ErrorKind::usage, "restoring to", name, "device is mounted; unmount it first");
  }
  if (!force) {
    throw Error(ErrorKind::usage, "restoring to", name,
                "is a device; add --force to overwrite its contents");
  }
  if (info.device_size && info.device_size < size) {
    throw Error(ErrorKind::usage, "restoring to", name,
                fmt::format("device holds {} bytes, the point needs {}", info.device_size, size));
  }
}

}  // namespace

RestoreTarget::RestoreTarget(const std::filesystem::path& path, uint64_t size, bool force)
    : m_path(path) {
  const std::string name = path_to_utf8(path);
  const TargetInfo info = inspect_target(path);
  m_is_device = info.is_device;
  if (info.is_directory) throw Error(ErrorKind::usage, "restoring to", name, "is a directory");
  if (info.is_device) {
    check_device(name, info, size, force);
    m_file = File(path, File::Open::read_write);
  } else if (info.exists) {
    if (!force) {
      throw Error(ErrorKind::usage, "restoring to", name,
                  "file exists; add --force to overwrite it");
    }
    m_file = File(path, File::Open::read_write);
    m_file.resize(0);
  } else {
    m_file = File(path, File::Open::create_new);
    m_created = true;
  }
  m_direct = File::open_direct_write(path);
  m_direct_ok = m_direct.has_value();
}

RestoreTarget::~RestoreTarget() {
  if (m_finished) return;
  m_direct.reset();
  if (!m_created) return;
  m_file = File();  // closed before removing (Windows removes no open file)
  std::error_code ec;
  std::filesystem::remove(m_path, ec);
}

void RestoreTarget::write(const uint8_t* data, size_t len, uint64_t offset) {
  const size_t aligned = len / File::k_direct_alignment * File::k_direct_alignment;
  if (aligned && direct() && offset % File::k_direct_alignment == 0 &&
      reinterpret_cast<uintptr_t>(data) % File::k_direct_alignment == 0) {
    try {
      m_direct->write_at(data, aligned, offset);
      m_unbuffered += aligned;
      data += aligned;
      offset += aligned;
      len -= aligned;
    } catch (const Error&) {
      m_direct_ok = false;  // this write and all later ones go through the page cache
    }
  }
  if (len) m_file.write_at(data, len, offset);
}

void RestoreTarget::finish(uint64_t size) {
  if (!m_is_device) m_file.resize(size);
  m_direct.reset();
  m_file.sync();  // flushes the file, whichever handle wrote it
  m_file.close();
  m_finished = true;
}

}  // namespace vssimg
