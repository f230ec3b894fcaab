// Block compression. Codec ids are part of the on-disk format (docs/format.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vssimg {

enum class Codec : uint8_t { raw = 0, lz4 = 1 };

// Upper bound of compress() output for `len` input bytes.
size_t compress_bound(size_t len);

// Compresses `src` into `dst` (capacity `dst_cap` >= compress_bound). Returns the
// compressed size, or 0 when compression would not make the block smaller (store raw).
size_t lz4_compress(const void* src, size_t len, void* dst, size_t dst_cap);

// Decodes a stored payload into exactly `raw_len` bytes at `dst`. False when the
// payload is malformed or does not decode to exactly raw_len bytes.
bool decode_block(Codec codec, const void* src, size_t stored_len, void* dst, size_t raw_len);

}  // namespace vssimg
