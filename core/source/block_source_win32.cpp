// Reads image files, live volumes (\\.\D:) and shadow copy devices
// (\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN). Devices are opened unbuffered
// (FILE_FLAG_NO_BUFFERING), so every ReadFile must use sector-aligned offsets, lengths
// and buffers; read_at accepts any range and goes through an aligned bounce buffer when
// the caller's range or buffer is not aligned.
//
// The backup workers call read_at in parallel. Data is read through a second handle
// opened with FILE_FLAG_OVERLAPPED, each read waiting for its own OVERLAPPED event, so
// every worker has a request in flight (the I/O manager serialises requests on a handle
// opened for synchronous I/O). The first handle stays synchronous for the
// DeviceIoControl calls (size, sector size, volume bitmap).
#include "core/source/block_source_win32.hpp"

#include "core/base/buffer.hpp"
#include "core/base/error.hpp"
#include "core/os/win32.hpp"

#include <winioctl.h>

#include <algorithm>
#include <cstring>
#include <cwctype>
#include <map>
#include <mutex>
#include <optional>

namespace vssimg::win32 {

namespace {

constexpr size_t k_bounce_size = 1u << 20;

bool starts_with(const std::wstring& s, const wchar_t* prefix) {
  return s.rfind(prefix, 0) == 0;
}

bool is_drive_letter(const std::wstring& s) {
  return (s.size() == 2 || (s.size() == 3 && (s[2] == L'\\' || s[2] == L'/'))) &&
         std::iswalpha(s[0]) && s[1] == L':';
}

std::wstring without_trailing_backslash(std::wstring s) {
  while (s.size() > 4 && (s.back() == L'\\' || s.back() == L'/')) s.pop_back();
  return s;
}

class Win32Source final : public BlockSource {
 public:
  Win32Source(std::string name, UniqueHandle handle, UniqueHandle overlapped, uint64_t size,
              uint32_t sector, bool device, std::wstring open_path = {})
      : m_name(std::move(name)),
        m_handle(std::move(handle)),
        m_overlapped(std::move(overlapped)),
        m_size(size),
        m_sector(sector),
        m_device(device),
        m_open_path(std::move(open_path)) {}

  std::string name() const override { return m_name; }
  uint64_t size() const override { return m_size; }
  uint32_t alignment() const override { return m_sector; }
  bool is_device() const override { return m_device; }
  // Files: the holes of a sparse file (source_runs_win32.cpp); devices have none.
  SourceRun run_at(uint64_t offset) override {
    return m_device ? SourceRun{false, m_size} : allocated_run(m_handle.get(), offset, m_size);
  }
  HANDLE handle() const { return m_handle.get(); }
  const std::wstring& open_path() const { return m_open_path; }

  void read_at(void* buf, size_t len, uint64_t offset) override {
    if (offset > m_size || len > m_size - offset) {
      throw Error("reading", m_name + " at offset " + std::to_string(offset),
                  "range of " + std::to_string(len) + " bytes ends past the end of the source (" +
                      std::to_string(m_size) + " bytes)");
    }
    auto addr = reinterpret_cast<uintptr_t>(buf);
    if (m_sector <= 1 || (offset % m_sector == 0 && len % m_sector == 0 && addr % m_sector == 0)) {
      read_direct(buf, len, offset, len);
      return;
    }
    read_bounced(static_cast<uint8_t*>(buf), len, offset);
  }

 private:
  // Reads [offset, offset+len); fewer bytes only at the end of the source, and never
  // fewer than `need`.
  void read_direct(void* buf, size_t len, uint64_t offset, size_t need) {
    size_t done = 0;
    while (done < len) {
      DWORD want = static_cast<DWORD>(std::min<size_t>(len - done, 1u << 30));
      DWORD got = read_once(static_cast<char*>(buf) + done, want, offset + done);
      if (got == 0) {
        if (done >= need) return;
        throw Error("reading", m_name + " at offset " + std::to_string(offset + done),
                    "source ended early: it changed while being read (it is shorter now); "
                    "back up a snapshot of it (VSS, LVM), not the live source");
      }
      done += got;
    }
  }

  // One ReadFile at `offset`; 0 at the end of the source. Through the overlapped handle
  // when there is one, the calling thread waiting for its own request only.
  DWORD read_once(char* buf, DWORD want, uint64_t offset) {
    OVERLAPPED ov{};
    ov.Offset = static_cast<DWORD>(offset);
    ov.OffsetHigh = static_cast<DWORD>(offset >> 32);
    auto where = [&] { return m_name + " at offset " + std::to_string(offset); };
    DWORD got = 0;
    if (!m_overlapped.valid()) {
      if (::ReadFile(m_handle.get(), buf, want, &got, &ov)) return got;
      DWORD err = ::GetLastError();
      if (err == ERROR_HANDLE_EOF) return 0;
      throw_win32("reading", where(), "ReadFile", err);
    }
    UniqueHandle event(::CreateEventW(nullptr, TRUE, FALSE, nullptr));
    if (!event.valid()) throw_last_error("reading", where(), "CreateEventW");
    ov.hEvent = event.get();
    if (!::ReadFile(m_overlapped.get(), buf, want, nullptr, &ov)) {
      DWORD err = ::GetLastError();
      if (err == ERROR_HANDLE_EOF) return 0;
      if (err != ERROR_IO_PENDING) throw_win32("reading", where(), "ReadFile", err);
    }
    if (!::GetOverlappedResult(m_overlapped.get(), &ov, &got, TRUE)) {
      DWORD err = ::GetLastError();
      if (err == ERROR_HANDLE_EOF) return 0;
      throw_win32("reading", where(), "ReadFile", err);
    }
    return got;
  }

  // Reads the sector-aligned cover of [offset, offset+len) piecewise into an aligned
  // buffer and copies the requested bytes out (unaligned callers, the tail of a source).
  void read_bounced(uint8_t* out, size_t len, uint64_t offset) {
    std::lock_guard lock(m_bounce_mutex);  // workers read in parallel; one bounce buffer
    if (m_bounce.size() == 0) m_bounce = AlignedBuffer(std::max<size_t>(k_bounce_size, m_sector));
    const size_t cap = m_bounce.size() / m_sector * m_sector;
    uint64_t pos = offset;
    const uint64_t end = offset + len;
    while (pos < end) {
      const auto [start, stop] = aligned_span(pos, end, m_sector, cap, m_size);
      read_direct(m_bounce.data(), static_cast<size_t>(stop - start), start,
                  static_cast<size_t>(std::min(stop, end) - start));
      uint64_t copy_end = std::min(stop, end);
      std::memcpy(out + (pos - offset), m_bounce.data() + (pos - start),
                  static_cast<size_t>(copy_end - pos));
      pos = copy_end;
    }
  }

  std::string m_name;
  UniqueHandle m_handle;      // synchronous: DeviceIoControl (and reads, if no m_overlapped)
  UniqueHandle m_overlapped;  // FILE_FLAG_OVERLAPPED: parallel reads
  uint64_t m_size;
  uint32_t m_sector;
  bool m_device;
  std::wstring m_open_path;  // devices only
  std::mutex m_bounce_mutex;
  AlignedBuffer m_bounce;
};

template <typename T>
bool device_query(HANDLE h, DWORD code, T& out, const void* in = nullptr, DWORD in_size = 0) {
  DWORD returned = 0;
  return ::DeviceIoControl(h, code, const_cast<void*>(in), in_size, &out, sizeof out, &returned,
                           nullptr) &&
         returned >= sizeof(DWORD);
}

uint32_t alignment_of(HANDLE h) {
  STORAGE_PROPERTY_QUERY query{};
  query.PropertyId = StorageAccessAlignmentProperty;
  query.QueryType = PropertyStandardQuery;
  STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR align{};
  return device_query(h, IOCTL_STORAGE_QUERY_PROPERTY, align, &query, sizeof query)
             ? align.BytesPerLogicalSector
             : 0;
}

uint32_t geometry_of(HANDLE h) {
  DISK_GEOMETRY geometry{};
  return device_query(h, IOCTL_DISK_GET_DRIVE_GEOMETRY, geometry) ? geometry.BytesPerSector : 0;
}

std::mutex g_origins_mutex;
std::map<std::string, std::string> g_origins;  // device path (no trailing \) -> volume name

std::string origin_key(const std::string& device) {
  return narrow(without_trailing_backslash(widen(device)));
}

// The source volume's answers: the alignment query on its device (opened without access
// rights, which the query does not need) and GetDiskFreeSpaceW on its root.
void ask_volume(const std::wstring& volume_name, SectorAnswers& answers) {
  UniqueHandle h(::CreateFileW(without_trailing_backslash(volume_name).c_str(), 0,
                               FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_EXISTING, 0,
                               nullptr));
  if (h.valid()) answers.volume_alignment = alignment_of(h.get());
  std::wstring root = volume_name;
  if (root.empty() || root.back() != L'\\') root += L'\\';
  DWORD sectors_per_cluster = 0, bytes_per_sector = 0, free_clusters = 0, clusters = 0;
  if (::GetDiskFreeSpaceW(root.c_str(), &sectors_per_cluster, &bytes_per_sector, &free_clusters,
                          &clusters)) {
    answers.volume_free_space = bytes_per_sector;
  }
}

uint32_t sector_size_of(HANDLE h, const ResolvedSource& resolved, const std::string& name) {
  SectorAnswers answers;
  answers.device_alignment = alignment_of(h);
  answers.device_geometry = geometry_of(h);
  if (answers.device_alignment < 512 && answers.device_geometry < 512) {
    std::optional<std::string> origin = shadow_origin(narrow(resolved.open_path));
    if (origin) {
      ask_volume(widen(*origin), answers);
    } else if (!resolved.volume_name.empty()) {
      ask_volume(resolved.volume_name, answers);
    }
  }
  return choose_sector_size(answers, name);
}

// IOCTL_DISK_GET_LENGTH_INFO, else the NTFS volume data (whose sector count leaves out
// the backup boot sector at the very end), else the partition length.
uint64_t device_size_of(HANDLE h, const std::string& name) {
  GET_LENGTH_INFORMATION length{};
  DWORD returned = 0;
  if (::DeviceIoControl(h, IOCTL_DISK_GET_LENGTH_INFO, nullptr, 0, &length, sizeof length,
                        &returned, nullptr)) {
    return static_cast<uint64_t>(length.Length.QuadPart);
  }
  DWORD first_error = ::GetLastError();
  NTFS_VOLUME_DATA_BUFFER ntfs{};
  if (::DeviceIoControl(h, FSCTL_GET_NTFS_VOLUME_DATA, nullptr, 0, &ntfs, sizeof ntfs, &returned,
                        nullptr)) {
    return (static_cast<uint64_t>(ntfs.NumberSectors.QuadPart) + 1) * ntfs.BytesPerSector;
  }
  PARTITION_INFORMATION_EX partition{};
  if (::DeviceIoControl(h, IOCTL_DISK_GET_PARTITION_INFO_EX, nullptr, 0, &partition,
                        sizeof partition, &returned, nullptr)) {
    return static_cast<uint64_t>(partition.PartitionLength.QuadPart);
  }
  throw_win32("reading size of", name, "DeviceIoControl(IOCTL_DISK_GET_LENGTH_INFO)", first_error);
}

// FSCTL_ALLOW_EXTENDED_DASD_IO on a handle opened with FILE_FLAG_OVERLAPPED (which
// needs an OVERLAPPED with an event).
bool allow_extended_dasd_overlapped(HANDLE h) {
  UniqueHandle event(::CreateEventW(nullptr, TRUE, FALSE, nullptr));
  if (!event.valid()) return false;
  OVERLAPPED ov{};
  ov.hEvent = event.get();
  DWORD returned = 0;
  if (::DeviceIoControl(h, FSCTL_ALLOW_EXTENDED_DASD_IO, nullptr, 0, nullptr, 0, &returned, &ov))
    return true;
  if (::GetLastError() != ERROR_IO_PENDING) return false;
  return ::GetOverlappedResult(h, &ov, &returned, TRUE) != 0;
}

}  // namespace

uint32_t choose_sector_size(const SectorAnswers& answers, const std::string& name) {
  for (uint32_t size : {answers.device_alignment, answers.device_geometry, answers.volume_alignment,
                        answers.volume_free_space}) {
    if (size >= 512 && (size & (size - 1)) == 0) return size;
  }
  throw Error("reading sector size of", name,
              "neither the device (IOCTL_STORAGE_QUERY_PROPERTY, IOCTL_DISK_GET_DRIVE_GEOMETRY) "
              "nor its volume (alignment, GetDiskFreeSpaceW) reports one; unbuffered reads "
              "need the real sector size");
}

AlignedSpan aligned_span(uint64_t pos, uint64_t end, uint32_t sector, uint64_t cap, uint64_t size) {
  const auto round_up = [&](uint64_t v) { return (v + sector - 1) / sector * sector; };
  AlignedSpan span;
  span.start = pos / sector * sector;
  span.stop = std::min({span.start + cap, round_up(end), round_up(size)});
  return span;
}

void register_shadow_origin(const std::string& device_path, const std::string& volume_name) {
  std::lock_guard lock(g_origins_mutex);
  g_origins[origin_key(device_path)] = volume_name;
}

void forget_shadow_origin(const std::string& device_path) {
  std::lock_guard lock(g_origins_mutex);
  g_origins.erase(origin_key(device_path));
}

std::optional<std::string> shadow_origin(const std::string& device_path) {
  std::lock_guard lock(g_origins_mutex);
  auto it = g_origins.find(origin_key(device_path));
  if (it == g_origins.end()) return std::nullopt;
  return it->second;
}

ResolvedSource resolve_source(const std::string& source) {
  ResolvedSource out;
  std::wstring wide = widen(source);
  for (auto& c : wide) {
    if (c == L'/') c = L'\\';
  }
  if (starts_with(wide, L"\\\\.\\") || starts_with(wide, L"\\\\?\\GLOBALROOT\\")) {
    out.is_device = true;
    out.open_path = without_trailing_backslash(wide);
    return out;
  }
  if (starts_with(wide, L"\\\\?\\Volume{") || is_drive_letter(wide)) {
    out.is_volume = out.is_device = true;
  } else if (starts_with(wide, L"\\\\") && !starts_with(wide, L"\\\\?\\")) {
    // A UNC path: a file on a share is fine, a volume is not.
    out.open_path = wide;
    return out;
  } else {
    DWORD attrs = ::GetFileAttributesW(wide.c_str());
    if (attrs == INVALID_FILE_ATTRIBUTES || !(attrs & FILE_ATTRIBUTE_DIRECTORY)) {
      out.open_path = wide;  // a file (or missing: CreateFileW reports it)
      return out;
    }
    out.is_volume = out.is_device = true;
  }
  // A volume: find its root and its \\?\Volume{GUID}\ name.
  std::wstring with_slash = wide;
  if (with_slash.back() != L'\\') with_slash += L'\\';
  wchar_t root[MAX_PATH + 1] = {};
  if (!::GetVolumePathNameW(with_slash.c_str(), root, MAX_PATH)) {
    throw_last_error("resolving volume", source, "GetVolumePathNameW", ErrorKind::usage);
  }
  if (std::wstring(root) != with_slash && !starts_with(wide, L"\\\\?\\Volume{")) {
    throw Error(ErrorKind::usage, "resolving volume", source,
                "is a folder inside the volume " + narrow(root) +
                    ", not a volume root or mount folder; give the volume (e.g. " + narrow(root) +
                    ")");
  }
  if (::GetDriveTypeW(root) == DRIVE_REMOTE) {
    throw Error(ErrorKind::usage, "resolving volume", source,
                "is a network drive; VSS and volume imaging need a local volume");
  }
  wchar_t name[MAX_PATH + 1] = {};
  if (::GetVolumeNameForVolumeMountPointW(root, name, MAX_PATH)) {
    out.volume_name = name;
    out.open_path = without_trailing_backslash(name);
  } else if (is_drive_letter(wide)) {
    // Wine and some drivers have no volume GUID names; the drive letter device works.
    out.volume_name = with_slash;
    out.open_path = L"\\\\.\\" + wide.substr(0, 2);
  } else {
    throw_last_error("resolving volume", source, "GetVolumeNameForVolumeMountPointW",
                     ErrorKind::usage);
  }
  return out;
}

std::unique_ptr<BlockSource> open_source(const std::string& source, const SourceOptions& options) {
  ResolvedSource resolved = resolve_source(source);
  const bool device = resolved.is_device;
  DWORD flags = FILE_FLAG_SEQUENTIAL_SCAN;
  if (device || options.force_sector_size) flags |= FILE_FLAG_NO_BUFFERING;
  // Devices: share read and write, because the volume (or the system) keeps it open.
  HANDLE raw = ::CreateFileW(resolved.open_path.c_str(), GENERIC_READ,
                             FILE_SHARE_READ | FILE_SHARE_WRITE | (device ? 0 : FILE_SHARE_DELETE),
                             nullptr, OPEN_EXISTING, flags, nullptr);
  if (raw == INVALID_HANDLE_VALUE) {
    DWORD err = ::GetLastError();
    ErrorKind kind =
        (device && err == ERROR_ACCESS_DENIED) ? ErrorKind::privilege : ErrorKind::failure;
    std::string cause = describe_win32_error("CreateFileW", err);
    if (kind == ErrorKind::privilege)
      cause += "; reading a volume needs an elevated prompt or SYSTEM";
    throw Error(kind, "opening source", source, cause);
  }
  UniqueHandle handle(raw);
  uint64_t size = 0;
  uint32_t sector = 1;
  bool extended_dasd = false;
  if (device) {
    // Lets reads reach the last sectors of a volume that the filesystem does not cover.
    DWORD returned = 0;
    extended_dasd = ::DeviceIoControl(handle.get(), FSCTL_ALLOW_EXTENDED_DASD_IO, nullptr, 0,
                                      nullptr, 0, &returned, nullptr);
    sector = options.force_sector_size ? *options.force_sector_size
                                       : sector_size_of(handle.get(), resolved, source);
    size = device_size_of(handle.get(), source);
  } else {
    BY_HANDLE_FILE_INFORMATION info{};
    if (::GetFileInformationByHandle(handle.get(), &info) &&
        (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
      throw Error("opening source", source,
                  "is a directory; give an image file, a volume or a device");
    }
    LARGE_INTEGER li{};
    if (!::GetFileSizeEx(handle.get(), &li))
      throw_last_error("reading size of", source, "GetFileSizeEx");
    size = static_cast<uint64_t>(li.QuadPart);
    if (options.force_sector_size) sector = *options.force_sector_size;
  }
  if (size == 0) throw Error("opening source", source, "is empty (0 bytes)");
  // A second handle for parallel reads; without one (it should not fail where the first
  // did not) reads go through the first handle, one at a time.
  UniqueHandle overlapped(
      ::CreateFileW(resolved.open_path.c_str(), GENERIC_READ,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | (device ? 0 : FILE_SHARE_DELETE), nullptr,
                    OPEN_EXISTING, flags | FILE_FLAG_OVERLAPPED, nullptr));
  // The extended-DASD permission belongs to a handle: the reading one needs it too, or
  // the last sectors of a volume would fail there and not through the first handle.
  if (extended_dasd && overlapped.valid() && !allow_extended_dasd_overlapped(overlapped.get())) {
    overlapped = UniqueHandle();
  }
  return std::make_unique<Win32Source>(source, std::move(handle), std::move(overlapped), size,
                                       sector, device,
                                       device ? resolved.open_path : std::wstring());
}

void* device_handle(BlockSource& source) {
  auto* s = dynamic_cast<Win32Source*>(&source);
  return s && s->is_device() ? s->handle() : nullptr;
}

std::wstring device_path(BlockSource& source) {
  auto* s = dynamic_cast<Win32Source*>(&source);
  return s && s->is_device() ? s->open_path() : std::wstring();
}

}  // namespace vssimg::win32

namespace vssimg {

std::unique_ptr<BlockSource> open_block_source(const std::string& path) {
  return win32::open_source(path, {});
}

}  // namespace vssimg
