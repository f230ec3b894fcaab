// NTFS allocation map: boot sector -> $MFT record 0 (its runlist) -> record 6 ($Bitmap)
// -> its unnamed $DATA runlist -> the bitmap, one bit per cluster. Portable, so the
// Windows build reads image files and raw devices the same way. Everything read from
// disk is hostile: every offset, length and count is checked before use, and anything
// that does not add up rejects the map (the volume is then imaged whole).
#include "core/base/bytes.hpp"
#include "core/fs/fs_volume.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace vssimg {

namespace {

constexpr uint32_t k_attr_attribute_list = 0x20;
constexpr uint32_t k_attr_volume_information = 0x70;
constexpr uint32_t k_attr_data = 0x80;
constexpr uint32_t k_attr_end = 0xFFFFFFFF;
constexpr uint64_t k_record_logfile = 2;
constexpr uint64_t k_record_volume = 3;
constexpr uint64_t k_record_bitmap = 6;
constexpr uint16_t k_attr_flag_compressed = 0x0001;
constexpr uint16_t k_attr_flag_encrypted = 0x4000;
constexpr uint16_t k_volume_dirty = 0x0001;
// Multi-sector protection works in 512-byte strides whatever the sector size.
constexpr size_t k_fixup_stride = 512;
constexpr uint32_t k_max_cluster_size = 2u << 20;  // Windows' largest NTFS cluster
constexpr uint32_t k_max_record_size = 64u << 10;
constexpr size_t k_max_extent_records = 4096;  // $Bitmap extents through an attribute list
constexpr size_t k_bitmap_chunk = 4u << 20;    // bitmap bytes read per I/O
constexpr uint64_t k_max_vcn = uint64_t{1} << 40;

struct Geometry {
  uint32_t sector_size = 0;
  uint64_t cluster_size = 0;
  uint64_t total_clusters = 0;
  uint64_t mft_lcn = 0;
  uint64_t mftmirr_lcn = 0;
  uint32_t record_size = 0;
};

struct Run {
  uint64_t vcn = 0;
  uint64_t lcn = 0;
  uint64_t length = 0;
  bool sparse = false;
};

bool is_power_of_two(uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

Geometry parse_boot_sector(const uint8_t* b, uint64_t volume_size) {
  Geometry g;
  g.sector_size = get_u16(b + 0x0B);
  if (g.sector_size < 256 || g.sector_size > 4096 || !is_power_of_two(g.sector_size)) {
    throw FsRejected(
        fmt::format("boot sector: bytes per sector {} is not 256..4096", g.sector_size));
  }
  uint8_t spc = b[0x0D];
  // Values above 0x80 encode clusters of 2^(256 - value) sectors (Windows 10 1903+).
  uint64_t sectors_per_cluster = spc <= 0x80 ? spc : uint64_t{1} << std::min(256 - spc, 31);
  if (!is_power_of_two(sectors_per_cluster)) {
    throw FsRejected(fmt::format("boot sector: sectors per cluster {} is not a power of two", spc));
  }
  g.cluster_size = sectors_per_cluster * g.sector_size;
  if (g.cluster_size > k_max_cluster_size) {
    throw FsRejected(fmt::format("boot sector: cluster size {} exceeds 2 MiB", g.cluster_size));
  }
  uint64_t total_sectors = get_u64(b + 0x28);
  if (total_sectors == 0 || total_sectors > volume_size / g.sector_size) {
    throw FsRejected(
        fmt::format("boot sector: {} sectors of {} bytes do not fit the {}-byte volume",
                    total_sectors, g.sector_size, volume_size));
  }
  g.total_clusters = total_sectors / sectors_per_cluster;
  g.mft_lcn = get_u64(b + 0x30);
  g.mftmirr_lcn = get_u64(b + 0x38);
  if (g.mft_lcn == 0 || g.mft_lcn >= g.total_clusters || g.mftmirr_lcn >= g.total_clusters) {
    throw FsRejected(
        fmt::format("boot sector: $MFT at cluster {} / $MFTMirr at {} outside {} clusters",
                    g.mft_lcn, g.mftmirr_lcn, g.total_clusters));
  }
  auto cpr = static_cast<int8_t>(b[0x40]);
  uint64_t record_size = 0;
  if (cpr > 0) {
    record_size = static_cast<uint64_t>(cpr) * g.cluster_size;
  } else if (cpr >= -31) {
    record_size = uint64_t{1} << -cpr;
  }
  if (record_size < k_fixup_stride || record_size > k_max_record_size ||
      !is_power_of_two(record_size)) {
    throw FsRejected(fmt::format("boot sector: MFT record size {} is not 512..65536", record_size));
  }
  g.record_size = static_cast<uint32_t>(record_size);
  return g;
}

// Reverses NTFS multi-sector protection: the last two bytes of every 512-byte stride
// were replaced on write by the update sequence number and saved in the update sequence
// array. A mismatch is a torn write or not a record at all.
void apply_fixups(std::vector<uint8_t>& rec, const char* magic, const std::string& what) {
  if (rec.size() < k_fixup_stride || std::memcmp(rec.data(), magic, 4) != 0) {
    throw FsRejected(fmt::format("{}: no '{}' signature", what, magic));
  }
  size_t usa_ofs = get_u16(rec.data() + 4);
  size_t usa_count = get_u16(rec.data() + 6);
  size_t strides = rec.size() / k_fixup_stride;
  // The array must lie in the first stride, before that stride's own fixup bytes.
  if (usa_count != strides + 1 || usa_ofs < 8 || usa_ofs + 2 * usa_count > k_fixup_stride - 2) {
    throw FsRejected(fmt::format("{}: update sequence array (offset {}, count {}) does not fit",
                                 what, usa_ofs, usa_count));
  }
  uint16_t usn = get_u16(rec.data() + usa_ofs);
  for (size_t i = 1; i < usa_count; ++i) {
    uint8_t* tail = rec.data() + i * k_fixup_stride - 2;
    if (get_u16(tail) != usn)
      throw FsRejected(fmt::format("{}: torn write (update sequence mismatch)", what));
    std::memcpy(tail, rec.data() + usa_ofs + 2 * i, 2);
  }
}

struct Attribute {
  uint32_t type = 0;
  const uint8_t* p = nullptr;  // start of the attribute header inside the record
  uint32_t length = 0;
  bool non_resident = false;
  uint8_t name_length = 0;
  uint16_t flags = 0;
  // Non-resident:
  uint64_t lowest_vcn = 0;
  uint64_t highest_vcn = 0;
  const uint8_t* mapping_pairs = nullptr;
  size_t mapping_pairs_len = 0;
  uint64_t allocated_size = 0;
  uint64_t data_size = 0;
  uint64_t initialized_size = 0;
  // Resident:
  const uint8_t* value = nullptr;
  uint32_t value_length = 0;
};

// Checks a record's header and lists its attributes with every field bounds-checked.
std::vector<Attribute> record_attributes(const std::vector<uint8_t>& rec, uint64_t number,
                                         const std::string& what) {
  const uint8_t* r = rec.data();
  uint16_t flags = get_u16(r + 0x16);
  if (!(flags & 0x0001)) throw FsRejected(fmt::format("{}: record not in use", what));
  size_t usa_end = get_u16(r + 4) + 2 * size_t{get_u16(r + 6)};
  size_t attrs_offset = get_u16(r + 0x14);
  size_t in_use = get_u32(r + 0x18);
  if (in_use > rec.size() || attrs_offset < usa_end || attrs_offset + 8 > in_use) {
    throw FsRejected(
        fmt::format("{}: header sizes (attributes at {}, {} bytes in use) are inconsistent", what,
                    attrs_offset, in_use));
  }
  // NTFS 3.1 records carry their own number: catches a record read from the wrong place.
  if (get_u16(r + 4) >= 0x30 && get_u32(r + 0x2C) != (number & 0xFFFFFFFF)) {
    throw FsRejected(fmt::format("{}: holds record number {}", what, get_u32(r + 0x2C)));
  }
  std::vector<Attribute> out;
  size_t off = attrs_offset;
  while (true) {
    if (off + 4 > in_use) throw FsRejected(fmt::format("{}: attributes run past the record", what));
    Attribute a;
    a.type = get_u32(r + off);
    if (a.type == k_attr_end) break;
    if (off + 24 > in_use)
      throw FsRejected(fmt::format("{}: attribute header past the record", what));
    a.length = get_u32(r + off + 4);
    if (a.length < 24 || a.length % 8 != 0 || a.length > in_use - off) {
      throw FsRejected(
          fmt::format("{}: attribute 0x{:X} has bad length {}", what, a.type, a.length));
    }
    a.p = r + off;
    a.non_resident = a.p[8] != 0;
    a.name_length = a.p[9];
    size_t name_offset = get_u16(a.p + 10);
    a.flags = get_u16(a.p + 12);
    if (a.name_length != 0 && name_offset + 2 * size_t{a.name_length} > a.length) {
      throw FsRejected(fmt::format("{}: attribute 0x{:X} name past its end", what, a.type));
    }
    if (a.non_resident) {
      if (a.length < 64)
        throw FsRejected(fmt::format("{}: non-resident attribute too short", what));
      a.lowest_vcn = get_u64(a.p + 16);
      a.highest_vcn = get_u64(a.p + 24);
      size_t mp = get_u16(a.p + 32);
      if (mp < 64 || mp >= a.length)
        throw FsRejected(fmt::format("{}: mapping pairs offset {} out of range", what, mp));
      a.mapping_pairs = a.p + mp;
      a.mapping_pairs_len = a.length - mp;
      a.allocated_size = get_u64(a.p + 40);
      a.data_size = get_u64(a.p + 48);
      a.initialized_size = get_u64(a.p + 56);
    } else {
      a.value_length = get_u32(a.p + 16);
      size_t vo = get_u16(a.p + 20);
      if (vo > a.length || a.value_length > a.length - vo) {
        throw FsRejected(fmt::format("{}: resident value past its attribute", what));
      }
      a.value = a.p + vo;
    }
    out.push_back(a);
    off += a.length;
  }
  return out;
}

// Decodes a mapping-pairs array into runs covering [lowest_vcn, highest_vcn]. Each
// pair: a header byte (low nibble: size of the length, high nibble: size of the signed
// LCN delta, 0 = sparse), then the two little-endian fields; a 0 byte ends the list.
std::vector<Run> decode_runlist(const Attribute& a, uint64_t total_clusters,
                                const std::string& what) {
  std::vector<Run> runs;
  const uint8_t* p = a.mapping_pairs;
  size_t n = a.mapping_pairs_len;
  size_t i = 0;
  uint64_t vcn = a.lowest_vcn;
  int64_t lcn = 0;
  // An empty attribute has highest VCN -1, so end_vcn wraps to 0 on purpose. Capping
  // VCNs at 2^40 keeps every VCN * cluster size product far from overflow.
  const uint64_t end_vcn = a.highest_vcn + 1;
  if (end_vcn < a.lowest_vcn || end_vcn > k_max_vcn) {
    throw FsRejected(
        fmt::format("{}: VCN range {}..{} invalid", what, a.lowest_vcn, a.highest_vcn));
  }
  while (true) {
    if (i >= n) throw FsRejected(fmt::format("{}: runlist has no terminator", what));
    uint8_t h = p[i++];
    if (h == 0) break;
    size_t len_size = h & 0x0F;
    size_t off_size = h >> 4;
    if (len_size == 0 || len_size > 8 || off_size > 8 || len_size + off_size > n - i) {
      throw FsRejected(fmt::format("{}: runlist entry header 0x{:02X} invalid", what, h));
    }
    uint64_t length = 0;
    for (size_t k = 0; k < len_size; ++k) length |= uint64_t{p[i + k]} << (8 * k);
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
      uint64_t raw = 0;
      for (size_t k = 0; k < off_size; ++k) raw |= uint64_t{p[i + k]} << (8 * k);
      i += off_size;
      if (off_size < 8 && (raw >> (8 * off_size - 1)) & 1) raw |= ~uint64_t{0} << (8 * off_size);
      auto delta = static_cast<int64_t>(raw);
      // lcn is in [0, total_clusters) and |delta| is checked before adding: no overflow.
      if ((delta < 0 && -(delta + 1) >= lcn) ||
          (delta > 0 &&
           static_cast<uint64_t>(delta) >= total_clusters - static_cast<uint64_t>(lcn))) {
        throw FsRejected(fmt::format("{}: run LCN outside the volume", what));
      }
      lcn += delta;
      if (length > total_clusters - static_cast<uint64_t>(lcn)) {
        throw FsRejected(
            fmt::format("{}: run at cluster {} (+{}) outside the volume", what, lcn, length));
      }
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

bool ranges_cover(const std::vector<ByteRange>& sorted, uint64_t offset, uint64_t length) {
  auto it = std::upper_bound(sorted.begin(), sorted.end(), offset,
                             [](uint64_t off, const ByteRange& r) { return off < r.end(); });
  return it != sorted.end() && it->offset <= offset && it->end() >= offset + length;
}

class NtfsVolume {
 public:
  NtfsVolume(VolumeReader& volume, const Geometry& g) : m_volume(volume), m_g(g) {}

  // Reads $MFT's record 0 from the boot sector's location and takes the runlist of its
  // first $DATA segment, which is all later record lookups need.
  void load_mft() {
    std::vector<uint8_t> rec =
        m_volume.read(m_g.mft_lcn * m_g.cluster_size, m_g.record_size, "$MFT record 0");
    apply_fixups(rec, "FILE", "$MFT record 0");
    for (const Attribute& a : record_attributes(rec, 0, "$MFT record 0")) {
      if (a.type != k_attr_data || a.name_length != 0) continue;
      if (!a.non_resident || a.lowest_vcn != 0)
        throw FsRejected("$MFT record 0: $DATA is not a non-resident first segment");
      m_mft_runs = decode_runlist(a, m_g.total_clusters, "$MFT $DATA");
      if (m_mft_runs.empty() || m_mft_runs[0].sparse || m_mft_runs[0].lcn != m_g.mft_lcn) {
        throw FsRejected("$MFT $DATA: first run does not start at the boot sector's $MFT cluster");
      }
      const Run& last = m_mft_runs.back();
      m_mft_bytes = std::min(a.data_size, (last.vcn + last.length) * m_g.cluster_size);
      return;
    }
    throw FsRejected("$MFT record 0: no unnamed $DATA attribute");
  }

  const std::vector<Run>& mft_runs() const { return m_mft_runs; }

  std::vector<uint8_t> read_record(uint64_t number) {
    std::string what = fmt::format("MFT record {}", number);
    if (number >= m_mft_bytes / m_g.record_size)
      throw FsRejected(what + ": beyond the end of $MFT");
    std::vector<uint8_t> rec =
        read_attribute_bytes(m_mft_runs, number * m_g.record_size, m_g.record_size, what);
    apply_fixups(rec, "FILE", what);
    return rec;
  }

  // Reads [offset, offset+len) of an attribute's data through its runs. Sparse clusters
  // are reported through `sparse_fill`; a hole in the runs is a rejection.
  std::vector<uint8_t> read_attribute_bytes(const std::vector<Run>& runs, uint64_t offset,
                                            size_t len, const std::string& what,
                                            uint8_t sparse_fill = 0, bool allow_sparse = false) {
    std::vector<uint8_t> out(len);
    std::vector<uint8_t> piece;
    size_t done = 0;
    const uint64_t cs = m_g.cluster_size;
    while (done < len) {
      uint64_t pos = offset + done;
      uint64_t vcn = pos / cs;
      auto it = std::upper_bound(runs.begin(), runs.end(), vcn,
                                 [](uint64_t v, const Run& r) { return v < r.vcn + r.length; });
      if (it == runs.end() || it->vcn > vcn)
        throw FsRejected(what + ": not covered by its runlist");
      uint64_t run_end = (it->vcn + it->length) * cs;
      size_t n = static_cast<size_t>(std::min<uint64_t>(len - done, run_end - pos));
      if (it->sparse) {
        if (!allow_sparse) throw FsRejected(what + ": lies in a sparse run");
        std::memset(out.data() + done, sparse_fill, n);
      } else {
        uint64_t disk = it->lcn * cs + (pos - it->vcn * cs);
        m_volume.read(disk, n, piece, what.c_str());
        std::memcpy(out.data() + done, piece.data(), n);
      }
      done += n;
    }
    return out;
  }

 private:
  VolumeReader& m_volume;
  Geometry m_g;
  std::vector<Run> m_mft_runs;
  uint64_t m_mft_bytes = 0;
};

struct DataStream {
  std::vector<Run> runs;          // non-resident
  std::vector<uint8_t> resident;  // resident value
  bool is_resident = false;
  uint64_t data_size = 0;
  uint64_t initialized_size = 0;
  uint64_t allocated_size = 0;
};

void check_plain(const Attribute& a, const std::string& what) {
  if (a.flags & (k_attr_flag_compressed | k_attr_flag_encrypted)) {
    throw FsRejected(fmt::format("{}: compressed or encrypted (flags 0x{:04X})", what, a.flags));
  }
}

// The unnamed $DATA of a file, following an $ATTRIBUTE_LIST to extension records when
// the runlist did not fit the base record.
DataStream read_unnamed_data(NtfsVolume& ntfs, const Geometry& g, uint64_t number,
                             const std::string& name) {
  std::vector<uint8_t> base = ntfs.read_record(number);
  std::string what = fmt::format("{} (record {})", name, number);
  if (get_u64(base.data() + 0x20) != 0)
    throw FsRejected(what + ": is an extension record, not a base record");
  std::vector<Attribute> attrs = record_attributes(base, number, what);

  const Attribute* list = nullptr;
  std::vector<const Attribute*> data;
  for (const Attribute& a : attrs) {
    if (a.type == k_attr_attribute_list) list = &a;
    if (a.type == k_attr_data && a.name_length == 0) data.push_back(&a);
  }

  DataStream s;
  auto take_first = [&](const Attribute& a) {
    check_plain(a, what);
    if (!a.non_resident) {
      s.is_resident = true;
      s.resident.assign(a.value, a.value + a.value_length);
      s.data_size = s.initialized_size = s.allocated_size = a.value_length;
      return;
    }
    if (a.lowest_vcn != 0) throw FsRejected(what + ": first $DATA segment does not start at VCN 0");
    s.allocated_size = a.allocated_size;
    s.data_size = a.data_size;
    s.initialized_size = a.initialized_size;
    s.runs = decode_runlist(a, g.total_clusters, what + " $DATA");
  };

  if (!list) {
    if (data.size() != 1)
      throw FsRejected(fmt::format("{}: {} unnamed $DATA attributes", what, data.size()));
    take_first(*data[0]);
  } else {
    // Attribute list entries: type, entry length, name length/offset, lowest VCN,
    // MFT reference of the record holding that segment.
    std::vector<uint8_t> list_bytes;
    if (list->non_resident) {
      if (list->lowest_vcn != 0 || list->data_size > (256u << 10))
        throw FsRejected(what + ": attribute list too large");
      std::vector<Run> runs = decode_runlist(*list, g.total_clusters, what + " $ATTRIBUTE_LIST");
      list_bytes = ntfs.read_attribute_bytes(runs, 0, static_cast<size_t>(list->data_size),
                                             what + " $ATTRIBUTE_LIST");
    } else {
      list_bytes.assign(list->value, list->value + list->value_length);
    }
    struct Segment {
      uint64_t lowest_vcn;
      uint64_t record;
    };
    std::vector<Segment> segments;
    for (size_t off = 0; off + 0x1A <= list_bytes.size();) {
      const uint8_t* e = list_bytes.data() + off;
      size_t len = get_u16(e + 4);
      if (len < 0x1A || len > list_bytes.size() - off)
        throw FsRejected(what + ": attribute list entry has bad length");
      if (get_u32(e) == k_attr_data && e[6] == 0) {
        segments.push_back({get_u64(e + 8), get_u64(e + 0x10) & 0xFFFFFFFFFFFFull});
        if (segments.size() > k_max_extent_records)
          throw FsRejected(what + ": too many $DATA segments");
      }
      off += len;
    }
    if (segments.empty()) throw FsRejected(what + ": attribute list names no unnamed $DATA");
    std::stable_sort(segments.begin(), segments.end(), [](const Segment& a, const Segment& b) {
      return a.lowest_vcn < b.lowest_vcn;
    });
    uint64_t next_vcn = 0;
    for (const Segment& seg : segments) {
      std::string seg_what =
          fmt::format("{} $DATA segment at VCN {} (record {})", what, seg.lowest_vcn, seg.record);
      std::vector<uint8_t> rec = seg.record == number ? base : ntfs.read_record(seg.record);
      if (seg.record != number && (get_u64(rec.data() + 0x20) & 0xFFFFFFFFFFFFull) != number) {
        throw FsRejected(seg_what + ": extension record does not point back to its base");
      }
      std::vector<Attribute> seg_attrs = record_attributes(rec, seg.record, seg_what);
      auto it = std::find_if(seg_attrs.begin(), seg_attrs.end(), [&](const Attribute& a) {
        return a.type == k_attr_data && a.name_length == 0 && a.non_resident &&
               a.lowest_vcn == seg.lowest_vcn;
      });
      if (it == seg_attrs.end()) throw FsRejected(seg_what + ": not found in its record");
      if (seg.lowest_vcn != next_vcn) throw FsRejected(seg_what + ": segments are not contiguous");
      if (seg.lowest_vcn == 0) {
        take_first(*it);
      } else {
        check_plain(*it, seg_what);
        std::vector<Run> more = decode_runlist(*it, g.total_clusters, seg_what);
        s.runs.insert(s.runs.end(), more.begin(), more.end());
      }
      next_vcn = it->highest_vcn + 1;
    }
  }
  if (!s.is_resident) {
    uint64_t clusters = s.runs.empty() ? 0 : s.runs.back().vcn + s.runs.back().length;
    if (s.initialized_size > s.data_size || s.data_size > s.allocated_size ||
        s.allocated_size > clusters * g.cluster_size) {
      throw FsRejected(
          fmt::format("{}: sizes (initialized {}, data {}, allocated {}, {} clusters) disagree",
                      what, s.initialized_size, s.data_size, s.allocated_size, clusters));
    }
  }
  return s;
}

// A volume marked dirty has a chkdsk pending: its bitmap may not be trusted.
void check_not_dirty(NtfsVolume& ntfs, uint64_t number) {
  std::vector<uint8_t> rec = ntfs.read_record(number);
  for (const Attribute& a : record_attributes(rec, number, "$Volume")) {
    if (a.type != k_attr_volume_information) continue;
    if (a.non_resident || a.value_length < 12)
      throw FsRejected("$Volume: $VOLUME_INFORMATION malformed");
    uint16_t flags = get_u16(a.value + 10);
    if (flags & k_volume_dirty) throw FsRejected("volume is marked dirty (chkdsk pending)");
    return;
  }
  throw FsRejected("$Volume: no $VOLUME_INFORMATION");
}

// A $LogFile whose restart area does not say "clean" holds transactions that Windows
// replays on mount, possibly allocating clusters the on-disk $Bitmap still calls free:
// a restore of a used-only image would then lack their data. Both restart pages are
// checked; any one not clean (or unreadable) rejects. An all-0xFF page is a reset log.
void check_logfile_clean(NtfsVolume& ntfs, const Geometry& g) {
  DataStream log = read_unnamed_data(ntfs, g, k_record_logfile, "$LogFile");
  if (log.is_resident || log.data_size < 8192) throw FsRejected("$LogFile: too small");
  std::vector<uint8_t> first = ntfs.read_attribute_bytes(log.runs, 0, 512, "$LogFile restart page");
  uint32_t page_size = get_u32(first.data() + 0x10);
  if (std::all_of(first.begin(), first.end(), [](uint8_t b) { return b == 0xFF; })) return;
  if (page_size < 512 || page_size > 65536 || !is_power_of_two(page_size) ||
      2 * uint64_t{page_size} > log.data_size) {
    throw FsRejected(fmt::format("$LogFile: restart page size {} invalid", page_size));
  }
  for (uint64_t page = 0; page < 2; ++page) {
    std::string what = fmt::format("$LogFile restart page {}", page);
    std::vector<uint8_t> rp =
        ntfs.read_attribute_bytes(log.runs, page * page_size, page_size, what);
    if (std::all_of(rp.begin(), rp.end(), [](uint8_t b) { return b == 0xFF; })) continue;
    apply_fixups(rp, "RSTR", what);
    size_t ra = get_u16(rp.data() + 0x18);
    if (ra < 0x1E || ra + 0x10 > rp.size())
      throw FsRejected(what + ": restart area offset out of range");
    uint16_t in_use_list = get_u16(rp.data() + ra + 0x0C);
    uint16_t flags = get_u16(rp.data() + ra + 0x0E);
    constexpr uint16_t k_no_client = 0xFFFF;
    constexpr uint16_t k_volume_is_clean = 0x0002;
    if (in_use_list != k_no_client && !(flags & k_volume_is_clean)) {
      throw FsRejected("$LogFile holds transactions not yet applied (not cleanly unmounted)");
    }
  }
}

}  // namespace

FsScan scan_ntfs(VolumeReader& volume) {
  std::vector<uint8_t> boot = volume.read(0, 512, "NTFS boot sector");
  Geometry g = parse_boot_sector(boot.data(), volume.size());
  NtfsVolume ntfs(volume, g);
  ntfs.load_mft();
  check_not_dirty(ntfs, k_record_volume);
  check_logfile_clean(ntfs, g);
  DataStream bitmap = read_unnamed_data(ntfs, g, k_record_bitmap, "$Bitmap");

  const uint64_t cs = g.cluster_size;
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
      chunk = ntfs.read_attribute_bytes(bitmap.runs, pos, n, "$Bitmap data", 0xFF, true);
      if (bitmap.initialized_size < pos + n) {
        size_t from =
            bitmap.initialized_size > pos ? static_cast<size_t>(bitmap.initialized_size - pos) : 0;
        std::memset(chunk.data() + from, 0xFF, n - from);
      }
    }
    uint64_t first_cluster = pos * 8;
    add_bitmap_runs(builder, chunk.data(),
                    std::min<uint64_t>(uint64_t{n} * 8, g.total_clusters - first_cluster),
                    first_cluster, cs);
  }
  std::vector<ByteRange>& used = builder.ranges();

  // The bitmap must at least mark the structures just read through it: the boot
  // cluster, $MFT's first segment, $MFTMirr and $Bitmap's own clusters.
  auto require = [&](uint64_t lcn, uint64_t count, const char* name) {
    if (!ranges_cover(used, lcn * cs, count * cs)) {
      throw FsRejected(
          fmt::format("$Bitmap marks clusters of {} (LCN {}+{}) free", name, lcn, count));
    }
  };
  require(0, 1, "the boot sector");
  require(g.mftmirr_lcn, 1, "$MFTMirr");
  for (const Run& r : ntfs.mft_runs()) {
    if (!r.sparse) require(r.lcn, r.length, "$MFT");
  }
  for (const Run& r : bitmap.runs) {
    if (!r.sparse) require(r.lcn, r.length, "$Bitmap");
  }

  // Past the last whole cluster: the backup boot sector (last sector of the partition)
  // and anything after the filesystem when the source is larger.
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
