// libFuzzer target: the key-file parser of encrypted stores (image/keys.cpp,
// decode_key_file), password and DPAPI keys. What decodes must encode back to the same bytes.
#include "core/base/error.hpp"
#include "image/keys.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    vssimg::KeyFile k = vssimg::decode_key_file(data, size, "key-0000000000000000");
    const bool password = k.protection == vssimg::k_key_protection_password;
    if (password != vssimg::pwhash_params_sane(k.params) || k.host.size() > 64) __builtin_trap();
    if (!password && (k.wrapped.empty() || k.wrapped.size() > 2048)) __builtin_trap();
    auto again = vssimg::encode_key_file(k);
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) __builtin_trap();
  } catch (const vssimg::Error&) {
  }
  return 0;
}
