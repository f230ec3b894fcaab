// libFuzzer target: point files (image/point.cpp decode_point, decode_point_info and the
// metadata decoder; image/point_meta.cpp's lists and base64 of the vss.* keys), with a
// round trip of what decodes.
#include "core/base/error.hpp"
#include "image/point.hpp"
#include "image/point_meta.hpp"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vssimg;
  // The id the file claims, so that the name check at the end can pass.
  std::string id = "0123456789abcdef";
  try {
    PointInfo info = decode_point_info(data, size, id);
    if (valid_point_id(info.meta.get("id"))) id = info.meta.get("id");
    for (const auto& [key, value] : info.meta.values()) {
      if (auto rows = decode_meta_list(value)) {
        if (decode_meta_list(encode_meta_list(*rows)) != rows) __builtin_trap();
      }
      if (auto bytes = decode_base64(value)) {
        if (encode_base64(*bytes) != value) __builtin_trap();
      }
    }
    try {
      (void)recorded_writers(info.meta);
      (void)recorded_components(info.meta);
      (void)recorded_components_document(info.meta);
    } catch (const Error&) {
    }
  } catch (const Error&) {
  }
  try {
    Point p = decode_point(data, size, id);
    auto again = encode_point(p);
    Point q = decode_point(again.data(), again.size(), id);
    if (q.map != p.map || q.meta.values() != p.meta.values()) __builtin_trap();
  } catch (const Error&) {
  }
  return 0;
}
