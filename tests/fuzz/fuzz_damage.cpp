// libFuzzer target: damage record objects (image/damage.cpp decode_damage), and the
// DamageSet they build: every entry re-encodes to an object that decodes to the same set.
#include "core/base/error.hpp"
#include "image/damage.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vssimg;
  try {
    DamageSet set = decode_damage(data, size, "damage record");
    const auto bytes = encode_damage(set);
    DamageSet again = decode_damage(bytes.data(), bytes.size(), "re-encoded");
    if (again.size() != set.size()) __builtin_trap();
    for (const auto& e : set.entries()) {
      if (!again.contains(e)) __builtin_trap();
      if (e.kind == DamageKind::copy && !set.copy_bad(e.block, e.pack, e.offset)) __builtin_trap();
      if (e.kind == DamageKind::pack && !set.has_pack(e.pack)) __builtin_trap();
    }
  } catch (const Error&) {
  }
  return 0;
}
