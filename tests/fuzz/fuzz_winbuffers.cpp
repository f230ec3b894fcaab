// libFuzzer target: the FSCTL_GET_VOLUME_BITMAP / FSCTL_GET_RETRIEVAL_POINTERS buffer
// parsers. First byte: which parser and the cluster size; the rest is the buffer.
#include "core/base/error.hpp"
#include "core/fs/fs_winbuffers.hpp"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint32_t cluster = 512u << (data[0] % 8);
  // Copy so ASan sees the exact buffer length.
  std::vector<uint8_t> buf(data + 1, data + size);
  try {
    if (data[0] & 0x80) {
      auto r = vssimg::parse_volume_bitmap(buf.data(), buf.size(), cluster);
      uint64_t prev_end = 0;
      for (const auto& u : r.used) {
        if (u.length == 0 || u.offset < prev_end || u.end() < u.offset) __builtin_trap();
        prev_end = u.end();
      }
      if (r.next_lcn < r.starting_lcn) __builtin_trap();
    } else {
      auto r = vssimg::parse_retrieval_pointers(buf.data(), buf.size(), cluster);
      for (const auto& e : r.extents) {
        if (e.length == 0 || e.end() < e.offset) __builtin_trap();
      }
    }
  } catch (const vssimg::Error&) {
    // Malformed buffers are rejected with an Error: expected.
  }
  return 0;
}
