#include "image/storage.hpp"

#include "core/base/error.hpp"

#include <algorithm>
#include <cstring>

namespace vssimg {

ObjectPlace object_place(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::config:
      return {"", ""};
    case ObjectKind::pack:
      return {"packs", ".pack"};
    case ObjectKind::index:
      return {"index", ".idx"};
    case ObjectKind::point:
      return {"points", ".point"};
    case ObjectKind::lock:
      return {"locks", ".info"};
    case ObjectKind::state:
      return {"", ".state"};
    case ObjectKind::key:
      return {"", ".key"};
  }
  throw Error("locating object", "", "unknown object kind");
}

void check_object_name(const ObjectRef& ref) {
  const std::string& n = ref.name;
  bool ok = ref.kind == ObjectKind::config
                ? n.empty()
                : !n.empty() && n.front() != '.' && (ref.kind != ObjectKind::pack || n.size() >= 2);
  ok = ok && std::none_of(n.begin(), n.end(), [](char c) {
         return c == '/' || c == '\\' || c == ':' || static_cast<unsigned char>(c) < 0x20;
       });
  if (!ok) throw Error("locating object", n, "not a valid object name");
}

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
