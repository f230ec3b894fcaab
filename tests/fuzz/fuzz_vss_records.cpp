// libFuzzer target: the snapshot record file's parser (vss/vss_records.cpp), which
// decides which shadow copies vssimg deletes.
#include "core/base/error.hpp"
#include "vss/vss_records.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    auto records = vssimg::vss::decode_records(bytes, "snapshots.tsv");
    // What decodes must encode back to the same bytes.
    if (vssimg::vss::encode_records(records) != bytes) __builtin_trap();
  } catch (const vssimg::Error&) {
  }
  return 0;
}
