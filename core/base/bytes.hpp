// Explicit little-endian encoding for on-disk structures, independent of the host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace vssimg {

inline void put_u8(std::vector<uint8_t>& out, uint8_t v) {
  out.push_back(v);
}
inline void put_u16(std::vector<uint8_t>& out, uint16_t v) {
  for (int i = 0; i < 2; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void put_u64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void put_bytes(std::vector<uint8_t>& out, const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  out.insert(out.end(), p, p + len);
}
inline void put_str(std::vector<uint8_t>& out, std::string_view s) {
  put_bytes(out, s.data(), s.size());
}

inline uint16_t get_u16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
inline uint32_t get_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t get_u64(const uint8_t* p) {
  return static_cast<uint64_t>(get_u32(p)) | (static_cast<uint64_t>(get_u32(p + 4)) << 32);
}
inline void set_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void set_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// A bounds-checked cursor over untrusted bytes. Every read checks the remaining
// length; `ok()` turns false on the first overrun and stays false, and reads past the
// end return zeros, so parsers check once at the end of a structure.
class Reader {
 public:
  Reader(const uint8_t* data, size_t len) : m_data(data), m_len(len) {}
  bool ok() const { return m_ok; }
  size_t pos() const { return m_pos; }
  size_t remaining() const { return m_ok ? m_len - m_pos : 0; }
  bool take(void* out, size_t n) {
    if (!m_ok || n > m_len - m_pos) {
      m_ok = false;
      std::memset(out, 0, n);
      return false;
    }
    std::memcpy(out, m_data + m_pos, n);
    m_pos += n;
    return true;
  }
  const uint8_t* skip(size_t n) {
    if (!m_ok || n > m_len - m_pos) {
      m_ok = false;
      return nullptr;
    }
    const uint8_t* p = m_data + m_pos;
    m_pos += n;
    return p;
  }
  uint8_t u8() {
    uint8_t b[1];
    take(b, 1);
    return b[0];
  }
  uint32_t u32() {
    uint8_t b[4];
    take(b, 4);
    return get_u32(b);
  }
  uint64_t u64() {
    uint8_t b[8];
    take(b, 8);
    return get_u64(b);
  }

 private:
  const uint8_t* m_data;
  size_t m_len;
  size_t m_pos = 0;
  bool m_ok = true;
};

std::string to_hex(const uint8_t* data, size_t len);
// "1.5 GiB", "312.0 KiB", "17 B": sizes for messages.
std::string human_bytes(uint64_t bytes);
// Parses lower- or upper-case hex of exactly out_len bytes; false on anything else.
bool from_hex(std::string_view hex, uint8_t* out, size_t out_len);

}  // namespace vssimg
