// The runlist (mapping pairs) of a non-resident NTFS attribute: which clusters of the
// volume hold which clusters (VCNs) of the attribute's data.
#pragma once

#include "core/fs/fs_ntfs_record.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace vssimg::ntfs {

// `length` clusters of the attribute from `vcn` on, stored from cluster `lcn` of the
// volume, or not stored at all (sparse: they read as zeros).
struct Run {
  uint64_t vcn = 0;
  uint64_t lcn = 0;
  uint64_t length = 0;
  bool sparse = false;
};

// Decodes the mapping pairs of `a` into runs covering exactly [lowest_vcn, highest_vcn],
// every stored run inside a volume of total_clusters clusters. Each pair: a header byte
// (low nibble: size of the length, high nibble: size of the signed LCN delta from the
// previous run, 0 = sparse), then the two little-endian fields; a 0 byte ends the list.
// Anything else throws FsRejected naming `what`.
std::vector<Run> decode_runlist(const Attribute& a, uint64_t total_clusters,
                                const std::string& what);

}  // namespace vssimg::ntfs
