// NTFS attribute contents through their runs (see fs_ntfs_data.hpp).
#include "core/fs/fs_ntfs_data.hpp"

#include "core/base/error.hpp"
#include "core/fs/fs_ntfs_layout.hpp"
#include "core/fs/fs_ntfs_lznt1.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace vssimg::ntfs {

namespace {

constexpr size_t k_read_chunk = 1u << 20;
// Windows compresses in units of 16 clusters of at most 4 KiB; larger units are refused
// so that a hostile compression-unit field cannot size a large buffer.
constexpr uint8_t k_max_compression_unit = 8;
constexpr uint64_t k_max_unit_bytes = 1u << 20;

void read_plain(Volume& volume, const Stream& s, const DataSink& sink, const std::string& what) {
  const uint64_t cs = volume.geometry().cluster_size;
  const uint64_t limit = std::min(s.data_size, s.initialized_size);
  std::vector<uint8_t> buf;
  for (const Run& run : s.runs) {
    const uint64_t start = run.vcn * cs;
    if (start >= limit) break;
    if (run.sparse) continue;
    const uint64_t end = std::min((run.vcn + run.length) * cs, limit);
    for (uint64_t pos = start; pos < end; pos += buf.size()) {
      check_interrupted();
      const size_t n = static_cast<size_t>(std::min<uint64_t>(k_read_chunk, end - pos));
      volume.reader().read(run.lcn * cs + (pos - start), n, buf, what.c_str());
      sink(pos, buf.data(), n);
    }
  }
}

// The stored clusters of VCNs [first, first+count), as (LCN, clusters) in VCN order.
struct Extent {
  uint64_t lcn;
  uint64_t clusters;
};
std::vector<Extent> unit_extents(const std::vector<Run>& runs, uint64_t first, uint64_t count,
                                 const std::string& what) {
  std::vector<Extent> out;
  auto it = std::upper_bound(runs.begin(), runs.end(), first,
                             [](uint64_t v, const Run& r) { return v < r.vcn + r.length; });
  for (uint64_t vcn = first; vcn < first + count; ++it) {
    if (it == runs.end() || it->vcn > vcn) throw FsRejected(what + ": not covered by its runs");
    const uint64_t n = std::min(it->vcn + it->length, first + count) - vcn;
    if (!it->sparse) out.push_back({it->lcn + (vcn - it->vcn), n});
    vcn += n;
  }
  return out;
}

void read_compressed(Volume& volume, const Stream& s, const DataSink& sink,
                     const std::string& what) {
  const uint64_t cs = volume.geometry().cluster_size;
  const uint64_t unit_clusters = uint64_t{1} << s.compression_unit;
  if (s.compression_unit > k_max_compression_unit || unit_clusters * cs > k_max_unit_bytes) {
    throw FsRejected(fmt::format("{}: compression unit of {} clusters of {} bytes unsupported",
                                 what, unit_clusters, cs));
  }
  const size_t unit_bytes = static_cast<size_t>(unit_clusters * cs);
  const uint64_t limit = std::min(s.data_size, s.initialized_size);
  const uint64_t total_vcns = s.runs.empty() ? 0 : s.runs.back().vcn + s.runs.back().length;
  std::vector<uint8_t> stored, unit(unit_bytes), piece;
  for (uint64_t vcn = 0; vcn * cs < limit; vcn += unit_clusters) {
    check_interrupted();
    const std::string unit_what = fmt::format("{} compression unit at VCN {}", what, vcn);
    const uint64_t count = std::min(unit_clusters, total_vcns - vcn);
    std::vector<Extent> extents = unit_extents(s.runs, vcn, count, unit_what);
    if (extents.empty()) continue;
    stored.clear();
    for (const Extent& e : extents) {
      volume.reader().read(e.lcn * cs, static_cast<size_t>(e.clusters * cs), piece,
                           unit_what.c_str());
      stored.insert(stored.end(), piece.begin(), piece.end());
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(unit_bytes, limit - vcn * cs));
    if (stored.size() == count * cs) {  // a unit that did not compress is stored raw
      sink(vcn * cs, stored.data(), n);
      continue;
    }
    lznt1_decompress(stored.data(), stored.size(), unit.data(), unit.size(), unit_what);
    sink(vcn * cs, unit.data(), n);
  }
}

}  // namespace

void read_stream(Volume& volume, const Stream& s, const DataSink& sink, const std::string& what) {
  if (s.resident) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(s.value.size(), s.data_size));
    if (n > 0) sink(0, s.value.data(), n);
    return;
  }
  if (s.flags & k_attr_flag_compressed) {
    if (s.compression_unit == 0) throw FsRejected(what + ": compressed without a compression unit");
    read_compressed(volume, s, sink, what);
    return;
  }
  read_plain(volume, s, sink, what);
}

}  // namespace vssimg::ntfs
