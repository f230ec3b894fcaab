#include "core/base/codec.hpp"

#include <lz4.h>

#include <climits>
#include <cstring>

namespace vssimg {

size_t compress_bound(size_t len) {
  return static_cast<size_t>(LZ4_compressBound(static_cast<int>(len)));
}

size_t lz4_compress(const void* src, size_t len, void* dst, size_t dst_cap) {
  if (len == 0 || len > static_cast<size_t>(INT_MAX)) return 0;
  int n = LZ4_compress_default(static_cast<const char*>(src), static_cast<char*>(dst),
                               static_cast<int>(len), static_cast<int>(dst_cap));
  if (n <= 0 || static_cast<size_t>(n) >= len) return 0;
  return static_cast<size_t>(n);
}

bool decode_block(Codec codec, const void* src, size_t stored_len, void* dst, size_t raw_len) {
  switch (codec) {
    case Codec::raw:
      if (stored_len != raw_len) return false;
      std::memcpy(dst, src, raw_len);
      return true;
    case Codec::lz4: {
      if (stored_len > static_cast<size_t>(INT_MAX) || raw_len > static_cast<size_t>(INT_MAX)) {
        return false;
      }
      int n = LZ4_decompress_safe(static_cast<const char*>(src), static_cast<char*>(dst),
                                  static_cast<int>(stored_len), static_cast<int>(raw_len));
      return n >= 0 && static_cast<size_t>(n) == raw_len;
    }
  }
  return false;
}

}  // namespace vssimg
