// Buffers kept for reuse instead of freed: a large fresh buffer is a new mapping whose
// pages fault in on first touch (S3's pack chunks and read-ahead windows: hundreds of
// thousands of faults per 4 GiB, docs/benchmarks.md). Thread-safe; keeps at most `cap`.
#pragma once

#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

namespace vssimg {

template <class Buffer>  // a std::vector or std::string: clear() keeps its room
class FreeList {
 public:
  explicit FreeList(size_t cap) : m_cap(cap) {}

  // A kept buffer, empty with its room, or a new empty one.
  Buffer take() {
    std::lock_guard lock(m_mutex);
    if (m_free.empty()) return Buffer();
    Buffer b = std::move(m_free.back());
    m_free.pop_back();
    return b;
  }
  // Keeps `b` for a later take(), or frees it when `cap` are kept already.
  void give(Buffer&& b) {
    b.clear();
    std::lock_guard lock(m_mutex);
    if (m_free.size() < m_cap) m_free.push_back(std::move(b));
  }
  size_t size() const {
    std::lock_guard lock(m_mutex);
    return m_free.size();
  }

 private:
  const size_t m_cap;
  mutable std::mutex m_mutex;
  std::vector<Buffer> m_free;
};

}  // namespace vssimg
