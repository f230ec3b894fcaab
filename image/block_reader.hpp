// Reads blocks back from packs through the index, checking every one: the record
// checksum, the id in the record, decompression to the recorded length and the keyed
// hash of the result. Thread-safe.
#pragma once

#include "image/index.hpp"
#include "image/storage.hpp"
#include "image/store.hpp"

#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace vssimg {

class BlockReader {
 public:
  BlockReader(const Store& store, const BlockIndex& index);

  // Decodes block `id` into `out` (capacity >= block size); returns its length.
  // `scratch` is the caller's reusable read buffer. Throws Error(damage) naming the
  // pack and offset when the block is missing or damaged. `stored_len`, if given, gets
  // the size of the record's payload in the pack.
  uint32_t read(const BlockId& id, uint8_t* out, std::vector<uint8_t>& scratch,
                uint32_t* stored_len = nullptr);

 private:
  std::shared_ptr<const ObjectReader> open_pack(uint32_t ordinal);

  const Store& m_store;
  const BlockIndex& m_index;
  std::mutex m_mutex;
  std::list<uint32_t> m_lru;
  std::unordered_map<uint32_t,
                     std::pair<std::shared_ptr<const ObjectReader>, std::list<uint32_t>::iterator>>
      m_open;
};

}  // namespace vssimg
