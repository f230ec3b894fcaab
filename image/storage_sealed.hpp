// The storage of an encrypted store (docs/format.md, "Encryption"): a Storage over another
// one that seals every pack, index segment, point and state object in chunks
// (XChaCha20-Poly1305, associated data binding each chunk to its store, kind, name,
// position and whether it is the last), and opens them again on reading, so everything
// above it — packs, segments, points, verify state, damage record — keeps its plain
// format and its ranged reads. The config, key files and lock objects pass through as
// they are (they must be readable before the key is known).
#pragma once

#include "core/base/crypto.hpp"
#include "image/config.hpp"
#include "image/storage.hpp"

#include <memory>

namespace vssimg {

// Plain bytes per sealed chunk of a new object; a reader takes the size from the object's
// header (4 KiB to 1 MiB, a power of two).
inline constexpr uint32_t k_sealed_chunk_size = 8 * 1024;

// True for the kinds a sealed storage seals (pack, index, point, state).
bool sealed_kind(ObjectKind kind);

// The plain size of a sealed object of `sealed_size` bytes with chunks of `chunk` bytes,
// or nothing when no sealed object has that size.
std::optional<uint64_t> sealed_plain_size(uint64_t sealed_size, uint32_t chunk);

// The plain bytes of one sealed object read through `raw` (what SealedStorage::open does;
// fuzz_sealed). Throws Error(damage) for a size, header or chunk that is not sealed right.
std::unique_ptr<ObjectReader> open_sealed_object(std::unique_ptr<ObjectReader> raw,
                                                 std::shared_ptr<const Sealer> sealer,
                                                 const StoreId& store_id, const ObjectRef& ref);
// A writer sealing what is appended into `raw` (what SealedStorage::create does).
std::unique_ptr<ObjectWriter> create_sealed_object(std::unique_ptr<ObjectWriter> raw,
                                                   std::shared_ptr<const Sealer> sealer,
                                                   const StoreId& store_id, const ObjectRef& ref);

std::unique_ptr<Storage> seal_storage(std::unique_ptr<Storage> inner,
                                      std::shared_ptr<const Sealer> sealer,
                                      const StoreId& store_id);

}  // namespace vssimg
