// libFuzzer target: the S3 response parser (image/storage_s3_xml.cpp): ListObjectsV2 pages,
// error bodies and DeleteObjects results are bytes from the network.
#include "core/base/error.hpp"
#include "image/storage_s3_xml.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  try {
    vssimg::s3::ListPage p = vssimg::s3::parse_list_page(xml, "s3://fuzz/");
    // A truncated page always says where to go on.
    if (p.truncated && p.next_token.empty()) __builtin_trap();
    for (const auto& o : p.objects)
      if (o.first.empty()) __builtin_trap();
  } catch (const vssimg::Error&) {
  }
  (void)vssimg::s3::parse_error(xml);
  try {
    (void)vssimg::s3::parse_delete_errors(xml, "s3://fuzz/");
  } catch (const vssimg::Error&) {
  }
  return 0;
}
