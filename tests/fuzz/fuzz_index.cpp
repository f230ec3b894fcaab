// libFuzzer target: index segments (image/index.cpp decode_index_segment), and loading the
// parsed entries into the in-memory BlockIndex. The store id comes from the input.
#include "core/base/error.hpp"
#include "image/index.hpp"

#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vssimg;
  StoreId sid{};
  if (size >= 40) std::memcpy(sid.data(), data + 24, 16);
  try {
    Segment seg = decode_index_segment(data, size, sid, "index segment");
    BlockIndex index;
    for (const auto& p : seg.packs) index.add_pack(p);
    for (const auto& e : seg.entries) {
      if (e.pack >= seg.packs.size()) __builtin_trap();
      index.insert(e.id, BlockLocation{e.pack, e.offset});
    }
  } catch (const Error&) {
  }
  return 0;
}
