// MFT record lookup, attribute reads through runlists, and the unnamed $DATA of a file
// (see fs_ntfs_volume.hpp).
#include "core/fs/fs_ntfs_volume.hpp"

#include "core/base/bytes.hpp"
#include "core/fs/fs_ntfs_layout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace vssimg::ntfs {

namespace {

constexpr size_t k_max_extent_records = 4096;  // $Bitmap extents through an attribute list
constexpr uint64_t k_max_attribute_list = 256u << 10;

bool is_unnamed_data(const Attribute& a) {
  return a.type == k_attr_data && a.name_length == 0;
}

void check_plain(const Attribute& a, const std::string& what) {
  if (a.flags & (k_attr_flag_compressed | k_attr_flag_encrypted)) {
    throw FsRejected(fmt::format("{}: compressed or encrypted (flags 0x{:04X})", what, a.flags));
  }
}

// Takes the segment of $DATA that starts at VCN 0: the whole value if resident, else the
// stream's sizes and its first runs.
void take_first_segment(DataStream& s, const Attribute& a, uint64_t total_clusters,
                        const std::string& what) {
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
  s.runs = decode_runlist(a, total_clusters, what + " $DATA");
}

// The value of an $ATTRIBUTE_LIST attribute, resident or not.
std::vector<uint8_t> read_attribute_list(Volume& volume, const Attribute& list,
                                         const std::string& what) {
  if (!list.non_resident) return std::vector<uint8_t>(list.value, list.value + list.value_length);
  if (list.lowest_vcn != 0 || list.data_size > k_max_attribute_list)
    throw FsRejected(what + ": attribute list too large");
  std::vector<Run> runs =
      decode_runlist(list, volume.geometry().total_clusters, what + " $ATTRIBUTE_LIST");
  return volume.read_attribute_bytes(runs, 0, static_cast<size_t>(list.data_size),
                                     what + " $ATTRIBUTE_LIST");
}

// A piece of $DATA named by the attribute list: the VCN it starts at, the record it is in.
struct Segment {
  uint64_t lowest_vcn;
  uint64_t record;
};

// The unnamed $DATA segments an attribute list names, in VCN order.
std::vector<Segment> data_segments(const std::vector<uint8_t>& list_bytes,
                                   const std::string& what) {
  std::vector<Segment> segments;
  for (size_t off = 0; off + k_list_entry_min_size <= list_bytes.size();) {
    const uint8_t* e = list_bytes.data() + off;
    size_t len = get_u16(e + k_list_entry_length);
    if (len < k_list_entry_min_size || len > list_bytes.size() - off)
      throw FsRejected(what + ": attribute list entry has bad length");
    if (get_u32(e + k_list_type) == k_attr_data && e[k_list_name_length] == 0) {
      segments.push_back(
          {get_u64(e + k_list_lowest_vcn), get_u64(e + k_list_record) & k_reference_record_mask});
      if (segments.size() > k_max_extent_records)
        throw FsRejected(what + ": too many $DATA segments");
    }
    off += len;
  }
  if (segments.empty()) throw FsRejected(what + ": attribute list names no unnamed $DATA");
  std::stable_sort(segments.begin(), segments.end(),
                   [](const Segment& a, const Segment& b) { return a.lowest_vcn < b.lowest_vcn; });
  return segments;
}

// Reads every segment from its record (the base record `number` is `base`) and appends
// its runs to `s`; the segments must follow each other without gap or overlap.
void read_segments(Volume& volume, uint64_t number, const std::vector<uint8_t>& base,
                   const std::vector<Segment>& segments, const std::string& what, DataStream& s) {
  const uint64_t total_clusters = volume.geometry().total_clusters;
  uint64_t next_vcn = 0;
  for (const Segment& seg : segments) {
    std::string seg_what =
        fmt::format("{} $DATA segment at VCN {} (record {})", what, seg.lowest_vcn, seg.record);
    std::vector<uint8_t> rec = seg.record == number ? base : volume.read_record(seg.record);
    if (seg.record != number &&
        (get_u64(rec.data() + k_record_base_reference) & k_reference_record_mask) != number) {
      throw FsRejected(seg_what + ": extension record does not point back to its base");
    }
    std::vector<Attribute> seg_attrs = record_attributes(rec, seg.record, seg_what);
    auto it = std::find_if(seg_attrs.begin(), seg_attrs.end(), [&](const Attribute& a) {
      return is_unnamed_data(a) && a.non_resident && a.lowest_vcn == seg.lowest_vcn;
    });
    if (it == seg_attrs.end()) throw FsRejected(seg_what + ": not found in its record");
    if (seg.lowest_vcn != next_vcn) throw FsRejected(seg_what + ": segments are not contiguous");
    if (seg.lowest_vcn == 0) {
      take_first_segment(s, *it, total_clusters, what);
    } else {
      check_plain(*it, seg_what);
      std::vector<Run> more = decode_runlist(*it, total_clusters, seg_what);
      s.runs.insert(s.runs.end(), more.begin(), more.end());
    }
    next_vcn = it->highest_vcn + 1;
  }
}

// A non-resident stream's sizes must nest: initialized <= data <= allocated <= its runs.
void check_sizes(const DataStream& s, uint64_t cluster_size, const std::string& what) {
  if (s.is_resident) return;
  uint64_t clusters = s.runs.empty() ? 0 : s.runs.back().vcn + s.runs.back().length;
  if (s.initialized_size > s.data_size || s.data_size > s.allocated_size ||
      s.allocated_size > clusters * cluster_size) {
    throw FsRejected(
        fmt::format("{}: sizes (initialized {}, data {}, allocated {}, {} clusters) disagree", what,
                    s.initialized_size, s.data_size, s.allocated_size, clusters));
  }
}

}  // namespace

void Volume::load_mft() {
  const char* what = "$MFT record 0";
  std::vector<uint8_t> rec = m_volume.read(m_g.mft_lcn * m_g.cluster_size, m_g.record_size, what);
  apply_fixups(rec, "FILE", what);
  for (const Attribute& a : record_attributes(rec, k_record_mft, what)) {
    if (!is_unnamed_data(a)) continue;
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

void Volume::set_mft_runs(std::vector<Run> runs, uint64_t data_size) {
  if (runs.empty() || runs[0].sparse || runs[0].lcn != m_g.mft_lcn)
    throw FsRejected("$MFT $DATA: first run does not start at the boot sector's $MFT cluster");
  const Run& last = runs.back();
  m_mft_bytes = std::min(data_size, (last.vcn + last.length) * m_g.cluster_size);
  m_mft_runs = std::move(runs);
}

std::vector<uint8_t> Volume::read_record(uint64_t number) {
  std::string what = fmt::format("MFT record {}", number);
  if (number >= m_mft_bytes / m_g.record_size) throw FsRejected(what + ": beyond the end of $MFT");
  std::vector<uint8_t> rec =
      read_attribute_bytes(m_mft_runs, number * m_g.record_size, m_g.record_size, what);
  apply_fixups(rec, "FILE", what);
  return rec;
}

std::vector<uint8_t> Volume::read_attribute_bytes(const std::vector<Run>& runs, uint64_t offset,
                                                  size_t len, const std::string& what,
                                                  uint8_t sparse_fill, bool allow_sparse) {
  std::vector<uint8_t> out(len);
  std::vector<uint8_t> piece;
  size_t done = 0;
  const uint64_t cs = m_g.cluster_size;
  while (done < len) {
    uint64_t pos = offset + done;
    uint64_t vcn = pos / cs;
    auto it = std::upper_bound(runs.begin(), runs.end(), vcn,
                               [](uint64_t v, const Run& r) { return v < r.vcn + r.length; });
    if (it == runs.end() || it->vcn > vcn) throw FsRejected(what + ": not covered by its runlist");
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

DataStream read_unnamed_data(Volume& volume, uint64_t number, const std::string& name) {
  std::vector<uint8_t> base = volume.read_record(number);
  std::string what = fmt::format("{} (record {})", name, number);
  if (get_u64(base.data() + k_record_base_reference) != 0)
    throw FsRejected(what + ": is an extension record, not a base record");
  std::vector<Attribute> attrs = record_attributes(base, number, what);

  const Attribute* list = nullptr;
  std::vector<const Attribute*> data;
  for (const Attribute& a : attrs) {
    if (a.type == k_attr_attribute_list) list = &a;
    if (is_unnamed_data(a)) data.push_back(&a);
  }

  DataStream s;
  if (!list) {
    if (data.size() != 1)
      throw FsRejected(fmt::format("{}: {} unnamed $DATA attributes", what, data.size()));
    take_first_segment(s, *data[0], volume.geometry().total_clusters, what);
  } else {
    std::vector<Segment> segments = data_segments(read_attribute_list(volume, *list, what), what);
    read_segments(volume, number, base, segments, what, s);
  }
  check_sizes(s, volume.geometry().cluster_size, what);
  return s;
}

}  // namespace vssimg::ntfs
