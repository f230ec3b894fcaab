// libFuzzer target: the store's config parser (image/config.cpp, decode_config).
#include "core/base/error.hpp"
#include "image/config.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    vssimg::StoreConfig c = vssimg::decode_config(data, size, "config");
    if (!vssimg::valid_block_size(c.block_size) || c.secret.size() != 192) __builtin_trap();
    // What decodes must encode back to the same bytes.
    auto again = vssimg::encode_config(c);
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) __builtin_trap();
  } catch (const vssimg::Error&) {
  }
  return 0;
}
