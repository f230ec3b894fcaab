// Windows: the used clusters of a volume or shadow copy device from the mounted
// filesystem (FSCTL_GET_VOLUME_BITMAP), minus pagefile.sys, swapfile.sys and hiberfil.sys
// (FSCTL_GET_RETRIEVAL_POINTERS on those files inside the same volume or snapshot). Only
// the calls are here; the loops, checks and the combination are in fs_windows.cpp.
#include "core/fs/fs_windows.hpp"

#include "core/source/block_source_win32.hpp"
#include "core/base/error.hpp"
#include "core/os/win32.hpp"

#include <winioctl.h>

#include <fmt/format.h>

#include <new>
#include <optional>

namespace vssimg {

namespace {

constexpr size_t k_bitmap_buffer = 1u << 20;     // 8 Mi clusters (32 GiB at 4 KiB) a call
constexpr size_t k_pointers_buffer = 64u << 10;  // 4095 extents a call

// One FSCTL whose input is a single LARGE_INTEGER (STARTING_LCN_INPUT_BUFFER,
// STARTING_VCN_INPUT_BUFFER). ERROR_MORE_DATA is a partial answer, not a failure.
FsctlChunk fsctl_from(HANDLE h, DWORD code, const char* api, const std::string& object,
                      uint64_t start, size_t out_size) {
  LARGE_INTEGER in{};
  in.QuadPart = static_cast<LONGLONG>(start);
  FsctlChunk chunk;
  chunk.data.resize(out_size);
  DWORD returned = 0;
  if (::DeviceIoControl(h, code, &in, sizeof in, chunk.data.data(), static_cast<DWORD>(out_size),
                        &returned, nullptr)) {
    chunk.data.resize(returned);
    return chunk;
  }
  DWORD err = ::GetLastError();
  if (err == ERROR_MORE_DATA) {
    chunk.data.resize(returned);
    chunk.more = true;
    return chunk;
  }
  if (code == FSCTL_GET_RETRIEVAL_POINTERS && err == ERROR_HANDLE_EOF && start == 0) {
    // No clusters at all (empty or resident): an empty RETRIEVAL_POINTERS_BUFFER.
    chunk.data.assign(16, 0);
    return chunk;
  }
  win32::throw_win32("reading", object, api, err);
}

// "ntfs" / "refs" and the cluster size, or "" and why not.
struct VolumeKind {
  std::string filesystem;
  uint32_t cluster_size = 0;
  std::string why;            // when filesystem is empty
  bool query_failed = false;  // the why is a failed call, not another filesystem
};

VolumeKind volume_kind(HANDLE h, const std::wstring& path) {
  VolumeKind k;
  NTFS_VOLUME_DATA_BUFFER ntfs{};
  DWORD returned = 0;
  if (::DeviceIoControl(h, FSCTL_GET_NTFS_VOLUME_DATA, nullptr, 0, &ntfs, sizeof ntfs, &returned,
                        nullptr) &&
      ntfs.BytesPerCluster != 0) {
    k.filesystem = "ntfs";
    k.cluster_size = ntfs.BytesPerCluster;
    return k;
  }
  wchar_t fs_name[MAX_PATH + 1] = {};
  if (!::GetVolumeInformationByHandleW(h, nullptr, 0, nullptr, nullptr, nullptr, fs_name,
                                       MAX_PATH + 1)) {
    k.why = win32::describe_win32_error("GetVolumeInformationByHandleW", ::GetLastError());
    k.query_failed = true;
    return k;
  }
  std::wstring name = fs_name;
  if (name != L"NTFS" && name != L"ReFS") {
    k.why = win32::narrow(name) + ": the volume bitmap is asked of NTFS and ReFS only";
    return k;
  }
  DWORD sectors_per_cluster = 0, bytes_per_sector = 0, free_clusters = 0, total_clusters = 0;
  std::wstring root = path + L"\\";
  if (!::GetDiskFreeSpaceW(root.c_str(), &sectors_per_cluster, &bytes_per_sector, &free_clusters,
                           &total_clusters) ||
      sectors_per_cluster == 0 || bytes_per_sector == 0) {
    k.why = win32::describe_win32_error("GetDiskFreeSpaceW", ::GetLastError());
    k.query_failed = true;
    return k;
  }
  k.filesystem = name == L"NTFS" ? "ntfs" : "refs";
  k.cluster_size = sectors_per_cluster * bytes_per_sector;
  return k;
}

// The extents of one excluded file (`file`, at `file_path` inside the volume), or
// nothing when it does not exist. A file that exists but cannot be opened or mapped is
// listed in `kept` instead: its clusters stay in the image, larger, never incomplete.
std::optional<ExcludedFile> excluded_file_extents(const char* file, const std::wstring& file_path,
                                                  uint32_t cluster_size,
                                                  std::vector<std::string>& kept) {
  win32::UniqueHandle f(::CreateFileW(file_path.c_str(), FILE_READ_ATTRIBUTES,
                                      FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                      nullptr, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, nullptr));
  if (!f.valid()) {
    DWORD err = ::GetLastError();
    if (err != ERROR_FILE_NOT_FOUND && err != ERROR_PATH_NOT_FOUND) {
      kept.push_back(
          fmt::format("kept {} ({})", file, win32::describe_win32_error("CreateFileW", err)));
    }
    return std::nullopt;
  }
  try {
    return ExcludedFile{file, collect_retrieval_pointers(
                                  [&](uint64_t vcn) {
                                    return fsctl_from(
                                        f.get(), FSCTL_GET_RETRIEVAL_POINTERS,
                                        "DeviceIoControl(FSCTL_GET_RETRIEVAL_POINTERS)", file, vcn,
                                        k_pointers_buffer);
                                  },
                                  cluster_size)};
  } catch (const Error& e) {
    kept.push_back(fmt::format("kept {} ({})", file, e.what()));
    return std::nullopt;
  }
}

// The used clusters from the volume bitmap minus the excluded files, with a note for
// each excluded file kept in the image. I/O errors of the bitmap propagate.
WindowsAllocation read_volume_bitmap(HANDLE h, const std::wstring& path, const std::string& name,
                                     const VolumeKind& kind, uint64_t volume_size,
                                     bool include_pagefile) {
  uint64_t clusters = 0;
  std::vector<ByteRange> used = collect_volume_bitmap(
      [&](uint64_t lcn) {
        return fsctl_from(h, FSCTL_GET_VOLUME_BITMAP, "DeviceIoControl(FSCTL_GET_VOLUME_BITMAP)",
                          name, lcn, k_bitmap_buffer);
      },
      kind.cluster_size, clusters);

  std::vector<ExcludedFile> excluded;
  std::vector<std::string> kept;
  if (!include_pagefile) {
    for (const char* file : k_windows_excluded_files) {
      std::optional<ExcludedFile> e =
          excluded_file_extents(file, path + L"\\" + win32::widen(file), kind.cluster_size, kept);
      if (e) excluded.push_back(std::move(*e));
    }
  }
  WindowsAllocation out = combine_windows_allocation(
      kind.filesystem, volume_size, kind.cluster_size, clusters, std::move(used), excluded);
  for (const auto& k : kept) out.result.note += "; " + k;
  return out;
}

}  // namespace

WindowsAllocation read_windows_allocation(BlockSource& source, bool include_pagefile) {
  WindowsAllocation out;
  HANDLE h = static_cast<HANDLE>(win32::device_handle(source));
  const std::wstring path = win32::device_path(source);
  if (!h || path.empty()) {
    out.result.note = "not a Windows volume";
    return out;
  }
  VolumeKind kind = volume_kind(h, path);
  if (kind.filesystem.empty()) {
    out.fsctl_failed = kind.query_failed;
    out.result.note = kind.why;
    return out;
  }
  const std::string name = source.name();
  try {
    out = read_volume_bitmap(h, path, name, kind, source.size(), include_pagefile);
  } catch (const Error& e) {
    out = {};
    out.fsctl_failed = true;
    out.result.note = fmt::format("{}: {}", kind.filesystem, e.what());
  } catch (const std::bad_alloc&) {
    out = {};
    out.fsctl_failed = true;
    out.result.note = kind.filesystem + ": out of memory reading the volume bitmap";
  }
  return out;
}

}  // namespace vssimg
