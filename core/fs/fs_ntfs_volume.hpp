// Reading an NTFS volume through its MFT: records by number, attribute data through
// runlists, and a file's unnamed $DATA across extension records.
#pragma once

#include "core/fs/fs_ntfs_record.hpp"
#include "core/fs/fs_ntfs_runlist.hpp"
#include "core/fs/fs_volume.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vssimg::ntfs {

class Volume {
 public:
  Volume(VolumeReader& volume, const Geometry& g) : m_volume(volume), m_g(g) {}

  // Reads $MFT's record 0 from the boot sector's location and takes the runlist of its
  // first $DATA segment, which is all later record lookups need.
  void load_mft();

  // Replaces the runlist load_mft took with the whole of $MFT's $DATA, when it spans
  // several records (an $ATTRIBUTE_LIST in record 0). The first run must not change.
  void set_mft_runs(std::vector<Run> runs, uint64_t data_size);

  const Geometry& geometry() const { return m_g; }
  VolumeReader& reader() { return m_volume; }
  const std::vector<Run>& mft_runs() const { return m_mft_runs; }

  // MFT record `number` with its fixups applied; load_mft first.
  std::vector<uint8_t> read_record(uint64_t number);

  // Reads [offset, offset+len) of an attribute's data through its runs. Sparse clusters
  // read as `sparse_fill` when allow_sparse, else reject; a hole in the runs rejects.
  std::vector<uint8_t> read_attribute_bytes(const std::vector<Run>& runs, uint64_t offset,
                                            size_t len, const std::string& what,
                                            uint8_t sparse_fill = 0, bool allow_sparse = false);

 private:
  VolumeReader& m_volume;
  Geometry m_g;
  std::vector<Run> m_mft_runs;
  uint64_t m_mft_bytes = 0;
};

// A file's unnamed $DATA attribute: its value if resident, else its runs and sizes.
struct DataStream {
  std::vector<Run> runs;          // non-resident
  std::vector<uint8_t> resident;  // resident value
  bool is_resident = false;
  uint64_t data_size = 0;
  uint64_t initialized_size = 0;
  uint64_t allocated_size = 0;
};

// The unnamed $DATA of base record `number` (`name` for messages: "$Bitmap"), following
// an $ATTRIBUTE_LIST to extension records when the runlist did not fit the base record.
// Compressed or encrypted data, missing or overlapping segments and sizes that disagree
// with the runs reject.
DataStream read_unnamed_data(Volume& volume, uint64_t number, const std::string& name);

}  // namespace vssimg::ntfs
