// NTFS allocation map: boot sector -> $MFT record 0 (its runlist) -> record 6 ($Bitmap)
// -> its unnamed $DATA runlist -> the bitmap, one bit per cluster. Portable, so the
// Windows build reads image files and raw devices the same way. Everything read from
// disk is hostile: every offset, length and count is checked before use, and anything
// that does not add up rejects the map (the volume is then imaged whole). The parsing
// is in fs_ntfs_record (boot sector, records, attributes), fs_ntfs_runlist and
// fs_ntfs_volume (records by number, file data); here are the checks on the volume's
// state and the bitmap itself.
#include "core/base/bytes.hpp"
#include "core/fs/fs_ntfs_layout.hpp"
#include "core/fs/fs_ntfs_record.hpp"
#include "core/fs/fs_ntfs_runlist.hpp"
#include "core/fs/fs_ntfs_volume.hpp"
#include "core/fs/fs_volume.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace vssimg::ntfs {

namespace {

constexpr size_t k_bitmap_chunk = 4u << 20;  // bitmap bytes read per I/O
constexpr uint64_t k_min_logfile_size = 8192;
constexpr uint32_t k_min_log_page_size = 512;
constexpr uint32_t k_max_log_page_size = 65536;

bool all_ff(const std::vector<uint8_t>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0xFF; });
}

// A volume marked dirty has a chkdsk pending: its bitmap may not be trusted.
void check_not_dirty(Volume& volume, uint64_t number) {
  std::vector<uint8_t> rec = volume.read_record(number);
  for (const Attribute& a : record_attributes(rec, number, "$Volume")) {
    if (a.type != k_attr_volume_information) continue;
    if (a.non_resident || a.value_length < k_volume_info_size)
      throw FsRejected("$Volume: $VOLUME_INFORMATION malformed");
    uint16_t flags = get_u16(a.value + k_volume_info_flags);
    if (flags & k_volume_dirty) throw FsRejected("volume is marked dirty (chkdsk pending)");
    return;
  }
  throw FsRejected("$Volume: no $VOLUME_INFORMATION");
}

// Rejects a restart page (fixups not yet applied) whose restart area has a client in
// use and lacks the "clean" flag.
void check_restart_page_clean(std::vector<uint8_t>& rp, const std::string& what) {
  apply_fixups(rp, "RSTR", what);
  size_t ra = get_u16(rp.data() + k_restart_area_offset);
  if (ra < k_restart_header_size || ra + k_restart_area_min_size > rp.size())
    throw FsRejected(what + ": restart area offset out of range");
  uint16_t in_use_list = get_u16(rp.data() + ra + k_restart_in_use_list);
  uint16_t flags = get_u16(rp.data() + ra + k_restart_flags);
  if (in_use_list != k_restart_no_client && !(flags & k_restart_volume_is_clean)) {
    throw FsRejected("$LogFile holds transactions not yet applied (not cleanly unmounted)");
  }
}

// A $LogFile whose restart area does not say "clean" holds transactions that Windows
// replays on mount, possibly allocating clusters the on-disk $Bitmap still calls free:
// a restore of a used-only image would then lack their data. Both restart pages are
// checked; any one not clean (or unreadable) rejects. An all-0xFF page is a reset log.
void check_logfile_clean(Volume& volume) {
  DataStream log = read_unnamed_data(volume, k_record_logfile, "$LogFile");
  if (log.is_resident || log.data_size < k_min_logfile_size)
    throw FsRejected("$LogFile: too small");
  std::vector<uint8_t> first =
      volume.read_attribute_bytes(log.runs, 0, k_min_log_page_size, "$LogFile restart page");
  uint32_t page_size = get_u32(first.data() + k_restart_page_size);
  if (all_ff(first)) return;
  if (page_size < k_min_log_page_size || page_size > k_max_log_page_size ||
      !is_power_of_two(page_size) || 2 * uint64_t{page_size} > log.data_size) {
    throw FsRejected(fmt::format("$LogFile: restart page size {} invalid", page_size));
  }
  for (uint64_t page = 0; page < 2; ++page) {
    std::string what = fmt::format("$LogFile restart page {}", page);
    std::vector<uint8_t> rp =
        volume.read_attribute_bytes(log.runs, page * page_size, page_size, what);
    if (!all_ff(rp)) check_restart_page_clean(rp, what);
  }
}

// The used clusters as $Bitmap marks them, as byte ranges in increasing order.
std::vector<ByteRange> bitmap_ranges(Volume& volume, const DataStream& bitmap) {
  const Geometry& g = volume.geometry();
  const uint64_t needed = (g.total_clusters + 7) / 8;
  if (bitmap.data_size < needed) {
    throw FsRejected(fmt::format("$Bitmap holds {} bytes, {} clusters need {}", bitmap.data_size,
                                 g.total_clusters, needed));
  }
  RangeBuilder builder;
  std::vector<uint8_t> chunk;
  for (uint64_t pos = 0; pos < needed; pos += chunk.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(k_bitmap_chunk, needed - pos));
    if (bitmap.is_resident) {
      chunk.assign(bitmap.resident.begin() + static_cast<ptrdiff_t>(pos),
                   bitmap.resident.begin() + static_cast<ptrdiff_t>(pos + n));
    } else {
      // A sparse or uninitialised stretch of $Bitmap reads as zeros to NTFS, but a real
      // volume never has one: count those clusters used rather than skip them.
      chunk = volume.read_attribute_bytes(bitmap.runs, pos, n, "$Bitmap data", 0xFF, true);
      if (bitmap.initialized_size < pos + n) {
        size_t from =
            bitmap.initialized_size > pos ? static_cast<size_t>(bitmap.initialized_size - pos) : 0;
        std::memset(chunk.data() + from, 0xFF, n - from);
      }
    }
    uint64_t first_cluster = pos * 8;
    add_bitmap_runs(builder, chunk.data(),
                    std::min<uint64_t>(uint64_t{n} * 8, g.total_clusters - first_cluster),
                    first_cluster, g.cluster_size);
  }
  return std::move(builder.ranges());
}

bool ranges_cover(const std::vector<ByteRange>& sorted, uint64_t offset, uint64_t length) {
  auto it = std::upper_bound(sorted.begin(), sorted.end(), offset,
                             [](uint64_t off, const ByteRange& r) { return off < r.end(); });
  return it != sorted.end() && it->offset <= offset && it->end() >= offset + length;
}

// The bitmap must at least mark the structures just read through it: the boot
// cluster, $MFT's first segment, $MFTMirr and $Bitmap's own clusters.
void check_metadata_used(const std::vector<ByteRange>& used, const Volume& volume,
                         const DataStream& bitmap) {
  const Geometry& g = volume.geometry();
  const uint64_t cs = g.cluster_size;
  auto require = [&](uint64_t lcn, uint64_t count, const char* name) {
    if (!ranges_cover(used, lcn * cs, count * cs)) {
      throw FsRejected(
          fmt::format("$Bitmap marks clusters of {} (LCN {}+{}) free", name, lcn, count));
    }
  };
  require(0, 1, "the boot sector");
  require(g.mftmirr_lcn, 1, "$MFTMirr");
  for (const Run& r : volume.mft_runs()) {
    if (!r.sparse) require(r.lcn, r.length, "$MFT");
  }
  for (const Run& r : bitmap.runs) {
    if (!r.sparse) require(r.lcn, r.length, "$Bitmap");
  }
}

}  // namespace

}  // namespace vssimg::ntfs

namespace vssimg {

FsScan scan_ntfs(VolumeReader& volume) {
  std::vector<uint8_t> boot = volume.read(0, ntfs::k_boot_sector_size, "NTFS boot sector");
  ntfs::Geometry g = ntfs::parse_boot_sector(boot.data(), volume.size());
  ntfs::Volume ntfs_volume(volume, g);
  ntfs_volume.load_mft();
  ntfs::check_not_dirty(ntfs_volume, ntfs::k_record_volume);
  ntfs::check_logfile_clean(ntfs_volume);
  ntfs::DataStream bitmap = ntfs::read_unnamed_data(ntfs_volume, ntfs::k_record_bitmap, "$Bitmap");
  std::vector<ByteRange> used = ntfs::bitmap_ranges(ntfs_volume, bitmap);
  ntfs::check_metadata_used(used, ntfs_volume, bitmap);

  // Past the last whole cluster: the backup boot sector (last sector of the partition)
  // and anything after the filesystem when the source is larger.
  const uint64_t cs = g.cluster_size;
  uint64_t fs_end = g.total_clusters * cs;
  used.push_back({fs_end, volume.size() - fs_end});
  used.push_back({0, cs});

  FsScan scan;
  scan.filesystem = "ntfs";
  scan.summary = fmt::format("$Bitmap of {} clusters of {} bytes", g.total_clusters, cs);
  scan.used = std::move(used);
  return scan;
}

}  // namespace vssimg
