// libFuzzer target: pack files (image/pack.cpp read_pack_table, check_record) and the
// record scanner of repair index (image/repair.cpp scan_pack_records). The store id is
// taken from the input's own header so that the fuzzer gets past that check.
#include "core/base/error.hpp"
#include "core/base/hash.hpp"
#include "image/pack.hpp"
#include "image/repair.hpp"
#include "image/storage.hpp"

#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vssimg;
  static const BlockHasher hasher(std::vector<uint8_t>(192, 7));
  static std::vector<uint8_t> out(4u << 20);
  StoreId sid{};
  if (size >= 32) std::memcpy(sid.data(), data + 16, 16);
  try {
    MemoryReader pack(data, size, "pack");
    for (const PackEntry& e : read_pack_table(pack, sid, "pack")) {
      uint32_t raw_len = 0;
      if (e.offset >= size) __builtin_trap();  // the table check promises this
      check_record(data + e.offset, size - e.offset, e.id, hasher, out.data(), out.size(), raw_len);
    }
  } catch (const Error&) {
  }
  for (const PackEntry& e : scan_pack_records(data, size, hasher, 64 * 1024)) {
    if (uint64_t{e.offset} + k_record_header_size + e.stored_len > size) __builtin_trap();
  }
  return 0;
}
