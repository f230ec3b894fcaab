#include "core/fs/fs_detect.hpp"

#include "core/base/buffer.hpp"
#include "core/base/bytes.hpp"
#include "core/fs/fs_volume.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace vssimg {

void VolumeReader::read(uint64_t offset, size_t len, std::vector<uint8_t>& out, const char* what) {
  uint64_t size = m_source.size();
  if (offset > size || len > size - offset) {
    throw FsRejected(fmt::format("{} at offset {} (+{}) lies outside the {}-byte volume", what,
                                 offset, len, size));
  }
  out.resize(len);
  if (len == 0) return;
  uint64_t align = std::max<uint32_t>(m_source.alignment(), 1);
  if (align == 1) {
    m_source.read_at(out.data(), len, offset);
    return;
  }
  // Unbuffered sources: read the aligned superset into an aligned buffer. The last
  // read may end at size() even when size() is not aligned (BlockSource contract).
  uint64_t start = offset / align * align;
  uint64_t end = std::min((offset + len + align - 1) / align * align, size);
  AlignedBuffer buf(static_cast<size_t>(end - start));
  m_source.read_at(buf.data(), buf.size(), start);
  std::memcpy(out.data(), buf.data() + (offset - start), len);
}

void RangeBuilder::add(uint64_t offset, uint64_t length) {
  if (length == 0) return;
  if (!m_ranges.empty() && m_ranges.back().end() == offset) {
    m_ranges.back().length += length;
  } else {
    m_ranges.push_back({offset, length});
  }
}

void add_bitmap_runs(RangeBuilder& out, const uint8_t* bits, uint64_t bit_count,
                     uint64_t first_cluster, uint64_t cluster_size) {
  uint64_t run_start = 0;
  bool in_run = false;
  auto close_run = [&](uint64_t end) {
    out.add((first_cluster + run_start) * cluster_size, (end - run_start) * cluster_size);
    in_run = false;
  };
  uint64_t i = 0;
  while (i < bit_count) {
    // Whole bytes of 0x00 / 0xFF are the common case on real volumes.
    if ((i & 7) == 0 && bit_count - i >= 8) {
      uint8_t b = bits[i >> 3];
      if (b == 0x00 || b == 0xFF) {
        bool set = b == 0xFF;
        if (set && !in_run) {
          run_start = i;
          in_run = true;
        } else if (!set && in_run) {
          close_run(i);
        }
        i += 8;
        continue;
      }
    }
    bool set = (bits[i >> 3] >> (i & 7)) & 1;
    if (set && !in_run) {
      run_start = i;
      in_run = true;
    } else if (!set && in_run) {
      close_run(i);
    }
    ++i;
  }
  if (in_run) close_run(bit_count);
}

bool looks_like_ntfs(const uint8_t* first4k) {
  return std::memcmp(first4k + 3, "NTFS    ", 8) == 0;
}

bool looks_like_ext(const uint8_t* first4k) {
  // The superblock lives at byte 1024 whatever the block size; s_magic at +56.
  return get_u16(first4k + 1024 + 56) == 0xEF53;
}

bool looks_like_fat32(const uint8_t* first4k) {
  return std::memcmp(first4k + 0x52, "FAT32   ", 8) == 0 && get_u16(first4k + 510) == 0xAA55;
}

bool looks_like_exfat(const uint8_t* first4k) {
  return std::memcmp(first4k + 3, "EXFAT   ", 8) == 0;
}

namespace {

AllocationResult no_map(const std::string& why) {
  return {std::nullopt, why + ": imaging all blocks"};
}

}  // namespace

AllocationResult read_allocation_map(BlockSource& source) {
  VolumeReader volume(source);
  constexpr size_t k_head = 4096;
  if (source.size() < k_head) return no_map("volume smaller than 4 KiB");
  std::vector<uint8_t> head = volume.read(0, k_head, "boot sector");

  FsScan (*scan)(VolumeReader&) = nullptr;
  const char* label = nullptr;
  if (looks_like_ntfs(head.data())) {
    scan = scan_ntfs;
    label = "ntfs";
  } else if (looks_like_ext(head.data())) {
    scan = scan_ext;
    label = "ext";
  } else if (looks_like_fat32(head.data())) {
    return no_map("fat32: allocation table not read by this version");
  } else if (looks_like_exfat(head.data())) {
    return no_map("exfat: allocation bitmap not read by this version");
  } else {
    return no_map("unknown filesystem");
  }

  FsScan result;
  try {
    result = scan(volume);
  } catch (const FsRejected& e) {
    return no_map(fmt::format("{}: {}", label, e.what()));
  } catch (const std::bad_alloc&) {
    // Sizes come from disk but are bounded by the volume size; running out of memory
    // here is a huge or hostile volume, and imaging everything is still correct.
    return no_map(fmt::format("{}: out of memory reading the allocation bitmap", label));
  }
  AllocationMap map(result.filesystem, source.size(), std::move(result.used));
  std::string note = fmt::format("{}: {}: {} of {} used", result.filesystem, result.summary,
                                 human_bytes(map.used_bytes()), human_bytes(source.size()));
  return {std::move(map), std::move(note)};
}

}  // namespace vssimg
