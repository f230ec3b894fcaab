// Portable parts of the Windows allocation map (core/fs/fs_windows.hpp): the FSCTL
// continuation loops and the combination of the volume bitmap with the extents of the
// paging and hibernation files. No Windows API here; fs_windows_win32.cpp issues the calls.
#include "core/fs/fs_windows.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/fs/fs_winbuffers.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iterator>

namespace vssimg {

const char* const k_windows_excluded_files[3] = {"pagefile.sys", "swapfile.sys", "hiberfil.sys"};

std::vector<ByteRange> collect_volume_bitmap(const std::function<FsctlChunk(uint64_t)>& fetch,
                                             uint32_t cluster_size, uint64_t& clusters) {
  std::vector<ByteRange> used;
  uint64_t lcn = 0;
  for (;;) {
    FsctlChunk chunk = fetch(lcn);
    VolumeBitmapRanges r = parse_volume_bitmap(chunk.data.data(), chunk.data.size(), cluster_size);
    // The filesystem may round the start down to a byte of the bitmap; a start past the
    // one asked for would leave clusters unreported (read as free): refuse.
    if (r.starting_lcn > lcn || lcn - r.starting_lcn >= 8) {
      throw Error("reading", "volume bitmap",
                  fmt::format("VOLUME_BITMAP_BUFFER starts at LCN {}, asked for LCN {}",
                              r.starting_lcn, lcn));
    }
    used.insert(used.end(), r.used.begin(), r.used.end());
    if (!chunk.more) {
      clusters = r.next_lcn;
      return used;
    }
    if (r.next_lcn <= lcn) {
      throw Error("reading", "volume bitmap",
                  fmt::format("ERROR_MORE_DATA without progress at LCN {}", lcn));
    }
    lcn = r.next_lcn;
  }
}

std::vector<ByteRange> collect_retrieval_pointers(const std::function<FsctlChunk(uint64_t)>& fetch,
                                                  uint32_t cluster_size) {
  std::vector<ByteRange> extents;
  uint64_t vcn = 0;
  for (;;) {
    FsctlChunk chunk = fetch(vcn);
    RetrievalPointerRanges r =
        parse_retrieval_pointers(chunk.data.data(), chunk.data.size(), cluster_size);
    extents.insert(extents.end(), r.extents.begin(), r.extents.end());
    if (!chunk.more) return extents;
    if (r.next_vcn <= vcn) {
      throw Error("reading", "file extents",
                  fmt::format("ERROR_MORE_DATA without progress at VCN {}", vcn));
    }
    vcn = r.next_vcn;
  }
}

WindowsAllocation combine_windows_allocation(const std::string& filesystem, uint64_t volume_size,
                                             uint32_t cluster_size, uint64_t clusters,
                                             std::vector<ByteRange> used,
                                             const std::vector<ExcludedFile>& excluded) {
  WindowsAllocation out;
  if (cluster_size == 0 || clusters > volume_size / cluster_size) {
    // The bitmap is not this volume's (or the cluster size is wrong): no map.
    out.fsctl_failed = true;
    out.result.note = fmt::format(
        "{}: volume bitmap of {} clusters of {} bytes does not fit the volume ({} bytes): imaging "
        "all blocks",
        filesystem, clusters, cluster_size, volume_size);
    return out;
  }
  const uint64_t fs_end = clusters * cluster_size;
  const uint64_t boot_end = std::min<uint64_t>(std::max<uint64_t>(cluster_size, 8192), volume_size);
  used.push_back({0, boot_end});
  if (fs_end < volume_size) used.push_back({fs_end, volume_size - fs_end});
  AllocationMap map(filesystem, volume_size, std::move(used));

  std::vector<std::string> cleared, distrusted;
  for (const ExcludedFile& f : excluded) {
    bool ok = true;
    for (const ByteRange& e : f.extents) {
      if (e.offset < boot_end || e.offset > fs_end || e.length > fs_end - e.offset) ok = false;
    }
    if (!ok) {
      distrusted.push_back(f.name);
      continue;
    }
    uint64_t before = map.used_bytes();
    for (const ByteRange& e : f.extents) map.clear(e);
    uint64_t freed = before - map.used_bytes();
    out.excluded_bytes += freed;
    if (freed) cleared.push_back(fmt::format("{} {}", f.name, human_bytes(freed)));
  }

  std::string note =
      fmt::format("{}: volume bitmap of {} clusters of {} bytes: {} of {} used", filesystem,
                  clusters, cluster_size, human_bytes(map.used_bytes()), human_bytes(volume_size));
  if (!cleared.empty()) note += fmt::format("; left out {}", fmt::join(cleared, ", "));
  if (!distrusted.empty()) {
    note += fmt::format("; kept {} (extents outside the filesystem's clusters)",
                        fmt::join(distrusted, ", "));
  }
  out.result.map = std::move(map);
  out.result.note = std::move(note);
  return out;
}

}  // namespace vssimg
