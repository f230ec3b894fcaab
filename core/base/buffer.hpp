// Aligned, move-only byte buffers (unbuffered device I/O needs sector alignment).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

namespace vssimg {

class AlignedBuffer {
 public:
  static constexpr size_t k_alignment = 4096;

  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t size) : m_size(size) {
    if (size == 0) return;
    size_t rounded = (size + k_alignment - 1) / k_alignment * k_alignment;
    m_data = static_cast<uint8_t*>(::operator new(rounded, std::align_val_t(k_alignment)));
  }
  ~AlignedBuffer() { release(); }
  AlignedBuffer(AlignedBuffer&& o) noexcept
      : m_data(std::exchange(o.m_data, nullptr)), m_size(std::exchange(o.m_size, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      release();
      m_data = std::exchange(o.m_data, nullptr);
      m_size = std::exchange(o.m_size, 0);
    }
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  uint8_t* data() { return m_data; }
  const uint8_t* data() const { return m_data; }
  size_t size() const { return m_size; }

 private:
  void release() {
    if (m_data) ::operator delete(m_data, std::align_val_t(k_alignment));
    m_data = nullptr;
  }
  uint8_t* m_data = nullptr;
  size_t m_size = 0;
};

}  // namespace vssimg
