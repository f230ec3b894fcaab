// LZNT1 decompression (see fs_ntfs_lznt1.hpp). Every read of the input and write of the
// output is bounds-checked: the bytes come from disk.
#include "core/fs/fs_ntfs_lznt1.hpp"

#include "core/base/bytes.hpp"
#include "core/fs/fs_volume.hpp"

#include <fmt/format.h>

#include <cstring>

namespace vssimg::ntfs {

namespace {

constexpr size_t k_chunk_size = 4096;

// One compressed chunk: tokens from in[0, len) into out[0, k_chunk_size at most).
// Returns the bytes written.
size_t decompress_chunk(const uint8_t* in, size_t len, uint8_t* out, size_t room,
                        const std::string& what) {
  size_t i = 0;
  size_t pos = 0;
  while (i < len) {
    const uint8_t flags = in[i++];
    for (int bit = 0; bit < 8 && i < len; ++bit) {
      if (!(flags & (1u << bit))) {
        if (pos >= room) throw FsRejected(what + ": LZNT1 chunk longer than its unit");
        out[pos++] = in[i++];
        continue;
      }
      if (i + 2 > len) throw FsRejected(what + ": LZNT1 token cut short");
      const uint16_t token = get_u16(in + i);
      i += 2;
      // The split between offset and length bits moves as the chunk fills: the offset
      // gets as many bits as the position needs, at least 4.
      unsigned length_bits = 12;
      for (size_t p = pos - 1; pos > 0 && p >= 0x10; p >>= 1) --length_bits;
      const size_t length = (token & ((1u << length_bits) - 1)) + 3;
      const size_t offset = (token >> length_bits) + 1;
      if (offset > pos) throw FsRejected(what + ": LZNT1 back-reference before its chunk");
      if (length > room - pos) throw FsRejected(what + ": LZNT1 chunk longer than its unit");
      for (size_t k = 0; k < length; ++k, ++pos) out[pos] = out[pos - offset];  // may overlap
    }
  }
  return pos;
}

}  // namespace

void lznt1_decompress(const uint8_t* in, size_t in_len, uint8_t* out, size_t out_len,
                      const std::string& what) {
  size_t i = 0;
  size_t pos = 0;
  while (pos < out_len && i + 2 <= in_len) {
    const uint16_t header = get_u16(in + i);
    if (header == 0) break;
    const size_t len = (header & 0x0FFF) + 1;
    i += 2;
    if (len > in_len - i) throw FsRejected(what + ": LZNT1 chunk past the stored data");
    const size_t room = std::min(k_chunk_size, out_len - pos);
    size_t produced;
    if (header & 0x8000) {
      produced = decompress_chunk(in + i, len, out + pos, room, what);
    } else {
      if (len > room) throw FsRejected(what + ": LZNT1 raw chunk longer than its unit");
      std::memcpy(out + pos, in + i, len);
      produced = len;
    }
    std::memset(out + pos + produced, 0, room - produced);
    pos += room;
    i += len;
  }
  std::memset(out + pos, 0, out_len - pos);
}

}  // namespace vssimg::ntfs
