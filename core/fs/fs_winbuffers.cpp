#include "core/fs/fs_winbuffers.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/fs/fs_volume.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vssimg {

namespace {

// The largest cluster number whose byte offset fits 64 bits (and 2^48 at most: 1 EiB at
// 4 KiB clusters, far beyond any NTFS or ReFS volume).
uint64_t max_cluster(uint32_t cluster_size) {
  return std::min(uint64_t{1} << 48, UINT64_MAX / cluster_size);
}

[[noreturn]] void bad(const char* buffer, const std::string& cause) {
  throw Error("parsing", buffer, cause);
}

}  // namespace

VolumeBitmapRanges parse_volume_bitmap(const uint8_t* data, size_t len, uint32_t cluster_size) {
  constexpr const char* k_what = "VOLUME_BITMAP_BUFFER";
  if (cluster_size == 0 || cluster_size > (32u << 20))
    bad(k_what, fmt::format("cluster size {} invalid", cluster_size));
  if (len < 16) bad(k_what, fmt::format("{} bytes, header needs 16", len));
  const uint64_t k_max_cluster = max_cluster(cluster_size);
  auto start = static_cast<int64_t>(get_u64(data));
  auto size = static_cast<int64_t>(get_u64(data + 8));
  if (start < 0 || size < 0 || static_cast<uint64_t>(start) > k_max_cluster ||
      static_cast<uint64_t>(size) > k_max_cluster - static_cast<uint64_t>(start)) {
    bad(k_what, fmt::format("StartingLcn {} / BitmapSize {} out of range", start, size));
  }
  uint64_t bits_present = static_cast<uint64_t>(len - 16) * 8;
  uint64_t bits = std::min(static_cast<uint64_t>(size), bits_present);
  RangeBuilder builder;
  add_bitmap_runs(builder, data + 16, bits, static_cast<uint64_t>(start), cluster_size);
  VolumeBitmapRanges out;
  out.used = std::move(builder.ranges());
  out.starting_lcn = static_cast<uint64_t>(start);
  out.next_lcn = static_cast<uint64_t>(start) + bits;
  return out;
}

RetrievalPointerRanges parse_retrieval_pointers(const uint8_t* data, size_t len,
                                                uint32_t cluster_size) {
  constexpr const char* k_what = "RETRIEVAL_POINTERS_BUFFER";
  if (cluster_size == 0 || cluster_size > (32u << 20))
    bad(k_what, fmt::format("cluster size {} invalid", cluster_size));
  if (len < 16) bad(k_what, fmt::format("{} bytes, header needs 16", len));
  uint32_t count = get_u32(data);
  if (count > (len - 16) / 16)
    bad(k_what, fmt::format("ExtentCount {} needs more than {} bytes", count, len));
  const uint64_t k_max_cluster = max_cluster(cluster_size);
  auto vcn = static_cast<int64_t>(get_u64(data + 8));
  if (vcn < 0 || static_cast<uint64_t>(vcn) > k_max_cluster)
    bad(k_what, fmt::format("StartingVcn {} out of range", vcn));
  RetrievalPointerRanges out;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* e = data + 16 + size_t{i} * 16;
    auto next_vcn = static_cast<int64_t>(get_u64(e));
    auto lcn = static_cast<int64_t>(get_u64(e + 8));
    if (next_vcn <= vcn || static_cast<uint64_t>(next_vcn) > k_max_cluster) {
      bad(k_what, fmt::format("extent {}: NextVcn {} does not follow VCN {}", i, next_vcn, vcn));
    }
    uint64_t clusters = static_cast<uint64_t>(next_vcn - vcn);
    if (lcn != -1) {
      if (lcn < 0 || static_cast<uint64_t>(lcn) > k_max_cluster - clusters) {
        bad(k_what, fmt::format("extent {}: Lcn {} out of range", i, lcn));
      }
      // Extents of one file are not in LCN order; keep each, AllocationMap sorts.
      out.extents.push_back({static_cast<uint64_t>(lcn) * cluster_size, clusters * cluster_size});
    }
    vcn = next_vcn;
  }
  out.next_vcn = static_cast<uint64_t>(vcn);
  return out;
}

}  // namespace vssimg
