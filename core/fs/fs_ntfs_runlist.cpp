// NTFS runlist decoding (see fs_ntfs_runlist.hpp). The fields are up to 8 bytes from
// disk; every sum is checked before it is formed, so no value wraps.
#include "core/fs/fs_ntfs_runlist.hpp"

#include <fmt/format.h>

namespace vssimg::ntfs {

namespace {

// Capping VCNs at 2^40 keeps every VCN * cluster size product far from overflow.
constexpr uint64_t k_max_vcn = uint64_t{1} << 40;

// One past the attribute's highest VCN. An empty attribute has highest VCN -1, so this
// wraps to 0 on purpose.
uint64_t end_vcn_of(const Attribute& a, const std::string& what) {
  const uint64_t end_vcn = a.highest_vcn + 1;
  if (end_vcn < a.lowest_vcn || end_vcn > k_max_vcn) {
    throw FsRejected(
        fmt::format("{}: VCN range {}..{} invalid", what, a.lowest_vcn, a.highest_vcn));
  }
  return end_vcn;
}

// The unsigned little-endian value of p[0..size), size at most 8.
uint64_t read_le(const uint8_t* p, size_t size) {
  uint64_t v = 0;
  for (size_t k = 0; k < size; ++k) v |= uint64_t{p[k]} << (8 * k);
  return v;
}

// The signed little-endian value of p[0..size), size 1 to 8.
int64_t read_signed_le(const uint8_t* p, size_t size) {
  uint64_t raw = read_le(p, size);
  if (size < 8 && (raw >> (8 * size - 1)) & 1) raw |= ~uint64_t{0} << (8 * size);
  return static_cast<int64_t>(raw);
}

// The LCN of a run of `length` clusters starting `delta` clusters from the previous
// run's `lcn`, when the whole run lies inside the volume.
int64_t next_lcn(int64_t lcn, int64_t delta, uint64_t length, uint64_t total_clusters,
                 const std::string& what) {
  // lcn is in [0, total_clusters) and |delta| is checked before adding: no overflow.
  if ((delta < 0 && -(delta + 1) >= lcn) ||
      (delta > 0 && static_cast<uint64_t>(delta) >= total_clusters - static_cast<uint64_t>(lcn))) {
    throw FsRejected(fmt::format("{}: run LCN outside the volume", what));
  }
  lcn += delta;
  if (length > total_clusters - static_cast<uint64_t>(lcn)) {
    throw FsRejected(
        fmt::format("{}: run at cluster {} (+{}) outside the volume", what, lcn, length));
  }
  return lcn;
}

}  // namespace

std::vector<Run> decode_runlist(const Attribute& a, uint64_t total_clusters,
                                const std::string& what) {
  std::vector<Run> runs;
  const uint8_t* p = a.mapping_pairs;
  const size_t n = a.mapping_pairs_len;
  size_t i = 0;
  uint64_t vcn = a.lowest_vcn;
  int64_t lcn = 0;
  const uint64_t end_vcn = end_vcn_of(a, what);
  while (true) {
    if (i >= n) throw FsRejected(fmt::format("{}: runlist has no terminator", what));
    uint8_t h = p[i++];
    if (h == 0) break;
    size_t len_size = h & 0x0F;
    size_t off_size = h >> 4;
    if (len_size == 0 || len_size > 8 || off_size > 8 || len_size + off_size > n - i) {
      throw FsRejected(fmt::format("{}: runlist entry header 0x{:02X} invalid", what, h));
    }
    uint64_t length = read_le(p + i, len_size);
    i += len_size;
    if (length == 0 || length > total_clusters) {
      throw FsRejected(fmt::format("{}: run length {} invalid", what, length));
    }
    Run run;
    run.vcn = vcn;
    run.length = length;
    if (off_size == 0) {
      run.sparse = true;
    } else {
      lcn = next_lcn(lcn, read_signed_le(p + i, off_size), length, total_clusters, what);
      i += off_size;
      run.lcn = static_cast<uint64_t>(lcn);
    }
    if (length > end_vcn - vcn) {
      throw FsRejected(fmt::format("{}: runlist longer than highest VCN {}", what, a.highest_vcn));
    }
    vcn += length;
    runs.push_back(run);
  }
  if (vcn != end_vcn) {
    throw FsRejected(
        fmt::format("{}: runlist ends at VCN {}, attribute says {}", what, vcn, end_vcn));
  }
  return runs;
}

}  // namespace vssimg::ntfs
