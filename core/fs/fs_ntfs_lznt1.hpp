// LZNT1, the compression of NTFS compressed files: a compression unit's stored bytes
// are a sequence of chunks, each a 16-bit header (bit 15: compressed; bits 0-11: chunk
// size - 3) and up to 4096 bytes of output, either raw or as LZ77 tokens in groups of
// eight behind a flag byte. A header of 0 or the end of the input ends the unit; a
// chunk that yields less than 4096 bytes leaves zeros after it, and so does the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vssimg::ntfs {

// Decompresses `in_len` bytes into `out`, which has room for exactly `out_len` bytes
// (the unit size) and is filled completely. Throws FsRejected naming `what` for a
// back-reference before the start of its chunk or output past out_len.
void lznt1_decompress(const uint8_t* in, size_t in_len, uint8_t* out, size_t out_len,
                      const std::string& what);

}  // namespace vssimg::ntfs
