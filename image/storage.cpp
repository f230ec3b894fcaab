#include "image/storage.hpp"

#include "core/base/error.hpp"

#include <algorithm>
#include <cstring>

namespace vssimg {

void ObjectReader::read_exact_at(void* buf, size_t len, uint64_t offset) const {
  if (read_at(buf, len, offset) != len) {
    throw Error(ErrorKind::damage, "reading", name() + " at offset " + std::to_string(offset),
                "unexpected end of file");
  }
}

size_t MemoryReader::read_at(void* buf, size_t len, uint64_t offset) const {
  if (offset >= m_size) return 0;
  size_t n = static_cast<size_t>(std::min<uint64_t>(len, m_size - offset));
  std::memcpy(buf, m_data + offset, n);
  return n;
}

void Storage::write(const ObjectRef& ref, const void* data, size_t len, WriteMode mode) const {
  auto writer = create(ref, mode);
  writer->append(data, len);
  writer->commit();
}

size_t Storage::read_at(const ObjectRef& ref, void* buf, size_t len, uint64_t offset) const {
  return open(ref)->read_at(buf, len, offset);
}

std::vector<uint8_t> Storage::read_all(const ObjectRef& ref, uint64_t max_size) const {
  auto reader = open(ref);
  uint64_t size = reader->size();
  if (size > max_size) {
    throw Error(ErrorKind::damage, "reading", reader->name(),
                "file is " + std::to_string(size) + " bytes, more than the " +
                    std::to_string(max_size) + " expected");
  }
  std::vector<uint8_t> data(static_cast<size_t>(size));
  reader->read_exact_at(data.data(), data.size(), 0);
  return data;
}

}  // namespace vssimg
