#include "image/vhdx_reader.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace vssimg {

namespace {

constexpr uint64_t k_mib = vhdx::k_mib;
constexpr uint32_t k_max_entries = 2047;  // region and metadata tables

Guid guid_at(const uint8_t* p) {
  Guid g;
  std::memcpy(g.bytes.data(), p, 16);
  return g;
}

bool is(const uint8_t* p, const char* guid) {
  return guid_at(p) == guid_from_string(guid);
}

// A header's problem, or empty if it is valid.
std::string header_problem(std::vector<uint8_t> h) {
  if (std::memcmp(h.data(), "head", 4) != 0) return "no 'head' signature";
  const uint32_t stored = get_u32(h.data() + 4);
  set_u32(h.data() + 4, 0);
  if (crc32c(h.data(), h.size()) != stored) return "CRC-32C mismatch";
  if (get_u16(h.data() + 66) != 1) return fmt::format("version {}", get_u16(h.data() + 66));
  if (get_u16(h.data() + 64) != 0) return "unknown log version";
  return {};
}

std::string region_problem(std::vector<uint8_t> r) {
  if (std::memcmp(r.data(), "regi", 4) != 0) return "no 'regi' signature";
  const uint32_t stored = get_u32(r.data() + 4);
  set_u32(r.data() + 4, 0);
  if (crc32c(r.data(), r.size()) != stored) return "CRC-32C mismatch";
  if (get_u32(r.data() + 8) > k_max_entries) return "too many entries";
  return {};
}

bool aligned_mib(uint64_t v) {
  return v % k_mib == 0;
}

}  // namespace

VhdxReader::VhdxReader(BlockSource& file) : m_file(file), m_size(file.size()) {
  if (m_size < k_mib) fail(fmt::format("{} bytes: smaller than the 1 MiB header section", m_size));
  if (std::memcmp(read_file(0, 8, "file identifier").data(), "vhdxfile", 8) != 0)
    fail("no 'vhdxfile' identifier at offset 0");
  read_headers();
  read_region_tables();
  read_metadata();
  read_bat();
}

std::vector<uint8_t> VhdxReader::read_file(uint64_t offset, size_t len, const char* what) const {
  if (offset > m_size || len > m_size - offset)
    fail(fmt::format("{} at offset {} (+{}) lies past the end of the file", what, offset, len));
  std::vector<uint8_t> out(len);
  if (len) m_file.read_at(out.data(), len, offset);
  return out;
}

void VhdxReader::fail(const std::string& cause) const {
  throw Error(ErrorKind::damage, "reading VHDX", m_file.name(), cause);
}

void VhdxReader::read_headers() {
  const auto h1 = read_file(vhdx::k_header1, vhdx::k_header_size, "header 1");
  const auto h2 = read_file(vhdx::k_header2, vhdx::k_header_size, "header 2");
  const std::string p1 = header_problem(h1), p2 = header_problem(h2);
  if (!p1.empty() && !p2.empty()) fail(fmt::format("header 1: {}; header 2: {}", p1, p2));
  const uint64_t s1 = get_u64(h1.data() + 8), s2 = get_u64(h2.data() + 8);
  if (p1.empty() && p2.empty() && s1 == s2 && h1 != h2)
    fail(fmt::format("both headers have sequence number {} but differ", s1));
  const bool first = p2.empty() ? (p1.empty() && s1 > s2) : true;
  const auto& h = first ? h1 : h2;
  m_sequence = first ? s1 : s2;
  if (!guid_at(h.data() + 48).is_zero())
    fail(fmt::format("header {}: LogGuid {} is set: the log must be replayed first", first ? 1 : 2,
                     guid_at(h.data() + 48).str()));
  m_log = {get_u64(h.data() + 72), get_u32(h.data() + 68), "log"};
  if (!aligned_mib(m_log.offset) || !aligned_mib(m_log.length) || m_log.length == 0 ||
      m_log.offset < k_mib || m_log.offset > m_size || m_log.length > m_size - m_log.offset)
    fail(fmt::format("log region at {} (+{}) is not 1 MiB aligned inside the file", m_log.offset,
                     m_log.length));
}

void VhdxReader::read_region_tables() {
  const auto r1 = read_file(vhdx::k_region1, vhdx::k_region_size, "region table 1");
  const auto r2 = read_file(vhdx::k_region2, vhdx::k_region_size, "region table 2");
  if (auto p = region_problem(r1); !p.empty()) fail("region table 1: " + p);
  if (auto p = region_problem(r2); !p.empty()) fail("region table 2: " + p);
  if (r1 != r2) fail("the two region tables differ");
  const uint32_t n = get_u32(r1.data() + 8);
  for (uint32_t i = 0; i < n; ++i) {
    const uint8_t* e = r1.data() + 16 + 32 * i;
    Range range{get_u64(e + 16), get_u32(e + 24), nullptr};
    Range* slot = is(e, vhdx::k_bat_region)        ? &m_bat_region
                  : is(e, vhdx::k_metadata_region) ? &m_metadata_region
                                                   : nullptr;
    if (!slot) {
      if (get_u32(e + 28) & 1) fail("unknown required region " + guid_at(e).str());
      continue;
    }
    if (slot->length) fail(fmt::format("region {} is listed twice", guid_at(e).str()));
    if (!aligned_mib(range.offset) || !aligned_mib(range.length) || range.length == 0 ||
        range.offset < k_mib || range.offset > m_size || range.length > m_size - range.offset)
      fail(fmt::format("region {} at {} (+{}) is not 1 MiB aligned inside the file",
                       guid_at(e).str(), range.offset, range.length));
    range.what = slot->what;
    *slot = range;
  }
  if (!m_bat_region.length) fail("no BAT region");
  if (!m_metadata_region.length) fail("no metadata region");
  check_no_overlap({{0, k_mib, "header section"}, m_log, m_bat_region, m_metadata_region});
}

void VhdxReader::read_metadata() {
  const auto region = read_file(m_metadata_region.offset, m_metadata_region.length, "metadata");
  if (std::memcmp(region.data(), "metadata", 8) != 0) fail("metadata: no 'metadata' signature");
  const uint32_t n = get_u16(region.data() + 10);
  if (n > k_max_entries) fail(fmt::format("metadata: {} entries", n));
  std::vector<Range> items;
  int seen = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const uint8_t* e = region.data() + 32 + 32 * i;
    const uint32_t off = get_u32(e + 16), len = get_u32(e + 20);
    if (len && (off < vhdx::k_metadata_table || off > region.size() || len > region.size() - off))
      fail(fmt::format("metadata item {} at {} (+{}) lies outside the metadata region",
                       guid_at(e).str(), off, len));
    if (len) items.push_back({m_metadata_region.offset + off, len, "metadata item"});
    read_metadata_item(e, region, seen);
  }
  if (seen != 0x1F)
    fail(
        "metadata: a required item is missing (file parameters, virtual disk size, disk id, "
        "logical or physical sector size)");
  check_no_overlap(items);
  const VhdxGeometry& g = m_geometry;
  const bool block_ok = g.block_size >= k_mib && g.block_size <= 256 * k_mib &&
                        (g.block_size & (g.block_size - 1)) == 0;
  if (!block_ok) fail(fmt::format("metadata: block size {} is not allowed", g.block_size));
  for (uint32_t s : {g.logical_sector, g.physical_sector})
    if (s != 512 && s != 4096) fail(fmt::format("metadata: sector size {} is not allowed", s));
  if (g.virtual_size == 0 || g.virtual_size > vhdx::k_max_virtual_size ||
      g.virtual_size % g.logical_sector)
    fail(fmt::format("metadata: virtual disk size {} is not allowed", g.virtual_size));
}

void VhdxReader::read_metadata_item(const uint8_t* e, const std::vector<uint8_t>& region,
                                    int& seen) {
  struct Known {
    const char* guid;
    uint32_t length;
    int bit;
  };
  static constexpr Known k_known[] = {{vhdx::k_file_parameters, 8, 1},
                                      {vhdx::k_virtual_disk_size, 8, 2},
                                      {vhdx::k_virtual_disk_id, 16, 4},
                                      {vhdx::k_logical_sector_size, 4, 8},
                                      {vhdx::k_physical_sector_size, 4, 16}};
  const uint32_t off = get_u32(e + 16), len = get_u32(e + 20), flags = get_u32(e + 24);
  if (is(e, vhdx::k_parent_locator)) fail("metadata: a parent locator (differencing disk)");
  for (const Known& k : k_known) {
    if (!is(e, k.guid)) continue;
    if (seen & k.bit) fail("metadata item " + guid_at(e).str() + " is listed twice");
    if (len != k.length)
      fail(fmt::format("metadata item {} is {} bytes, not {}", guid_at(e).str(), len, k.length));
    seen |= k.bit;
    const uint8_t* v = region.data() + off;
    if (k.bit == 1) {
      m_geometry.block_size = get_u32(v);
      if (get_u32(v + 4) & 2) fail("metadata: HasParent is set (differencing disk)");
    } else if (k.bit == 2) {
      m_geometry.virtual_size = get_u64(v);
    } else if (k.bit == 4) {
      m_disk_id = guid_at(v);
    } else if (k.bit == 8) {
      m_geometry.logical_sector = get_u32(v);
    } else {
      m_geometry.physical_sector = get_u32(v);
    }
    return;
  }
  if (flags & 4) fail("metadata: unknown required item " + guid_at(e).str());
}

void VhdxReader::read_bat() {
  const uint64_t entries = m_geometry.bat_entries();
  if (entries > m_bat_region.length / 8)
    fail(
        fmt::format("BAT region of {} bytes cannot hold {} entries", m_bat_region.length, entries));
  const auto raw = read_file(m_bat_region.offset, entries * 8, "BAT");
  m_bat.resize(entries);
  std::vector<Range> ranges = {{0, k_mib, "header section"},
                               m_log,
                               m_bat_region,
                               m_metadata_region};  // already apart (read_region_tables)
  const uint64_t ratio = m_geometry.chunk_ratio();
  for (uint64_t i = 0; i < entries; ++i) {
    const uint64_t v = m_bat[i] = get_u64(raw.data() + 8 * i);
    const uint64_t state = v & 7, offset = (v >> 20) * k_mib;
    const bool bitmap = i % (ratio + 1) == ratio;
    if (v & 0xFFFF8) fail(fmt::format("BAT entry {}: reserved bits set ({:#x})", i, v));
    if (bitmap) {
      if (state != vhdx::k_sb_not_present)
        fail(
            fmt::format("BAT entry {}: sector bitmap state {} in a disk without parent", i, state));
      continue;
    }
    if (state == 4 || state == 5 || state == vhdx::k_payload_partially_present)
      fail(fmt::format("BAT entry {}: payload state {} is not valid here", i, state));
    if (state != vhdx::k_payload_fully_present) continue;
    if (offset < k_mib || offset > m_size || m_geometry.block_size > m_size - offset)
      fail(fmt::format("BAT entry {}: block at {} (+{}) lies outside the file", i, offset,
                       m_geometry.block_size));
    ranges.push_back({offset, m_geometry.block_size, "payload block"});
  }
  check_no_overlap(std::move(ranges));
}

void VhdxReader::check_no_overlap(std::vector<Range> ranges) const {
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.offset < b.offset; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    const Range& a = ranges[i - 1];
    if (a.offset + a.length > ranges[i].offset)
      fail(fmt::format("{} at {} (+{}) overlaps {} at {}", a.what, a.offset, a.length,
                       ranges[i].what, ranges[i].offset));
  }
}

void VhdxReader::read(void* buf, size_t len, uint64_t offset) const {
  if (offset > m_geometry.virtual_size || len > m_geometry.virtual_size - offset)
    throw Error(ErrorKind::usage, "reading VHDX", m_file.name(),
                fmt::format("range {} (+{}) lies past the end of the disk", offset, len));
  auto* out = static_cast<uint8_t*>(buf);
  while (len) {
    const uint64_t b = offset / m_geometry.block_size, in = offset % m_geometry.block_size;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(len, m_geometry.block_size - in));
    const uint64_t entry = payload_entry(b);
    if ((entry & 7) == vhdx::k_payload_fully_present)
      m_file.read_at(out, n, (entry >> 20) * k_mib + in);
    else
      std::memset(out, 0, n);
    out += n;
    offset += n;
    len -= n;
  }
}

}  // namespace vssimg
