#include "image/restore_target.hpp"

#include "core/base/error.hpp"
#include "core/os/path.hpp"
#include "core/os/block_holders.hpp"
#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <cerrno>
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
  if (const std::string user = block_device_user(name); !user.empty()) {
    throw Error(ErrorKind::usage, "restoring to", name,
                user + "; unmount it or stop what uses it first");
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

bool RestoreTarget::is_stdout_name(const std::filesystem::path& path) {
  const std::string name = path_to_utf8(path);
  return name == "-" || name == "/dev/stdout" || name == "/dev/fd/1" || name == "/proc/self/fd/1";
}

RestoreTarget::RestoreTarget(const std::filesystem::path& path, uint64_t size, bool force)
    : m_path(path) {
  const std::string name = path_to_utf8(path);
  if (is_stdout_name(path)) {
    m_stream = binary_stdout("restoring to", "vssimg restore POINT - > FILE");
    return;
  }
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

void RestoreTarget::write_stream(const uint8_t* data, size_t len, uint64_t offset) {
  std::lock_guard lock(m_stream_mutex);
  if (offset != m_stream_pos) {
    m_early.emplace(offset, std::vector<uint8_t>(data, data + len));
    return;
  }
  auto put = [&](const uint8_t* bytes, size_t n) {
    if (std::fwrite(bytes, 1, n, m_stream) != n) throw_errno("writing", "standard output", errno);
    m_stream_pos += n;
  };
  put(data, len);
  for (auto it = m_early.begin(); it != m_early.end() && it->first == m_stream_pos;) {
    put(it->second.data(), it->second.size());
    it = m_early.erase(it);
  }
}

void RestoreTarget::write(const uint8_t* data, size_t len, uint64_t offset) {
  if (m_stream) {
    write_stream(data, len, offset);
    return;
  }
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
  if (m_stream) {
    if (m_stream_pos != size || !m_early.empty()) {
      throw Error("writing", "standard output",
                  fmt::format("{} of {} bytes were written in order", m_stream_pos, size));
    }
    if (std::fflush(m_stream) != 0) throw_errno("writing", "standard output", errno);
    m_finished = true;
    return;
  }
  if (!m_is_device) m_file.resize(size);
  m_direct.reset();
  m_file.sync();  // flushes the file, whichever handle wrote it
  m_file.close();
  m_finished = true;
}

}  // namespace vssimg
