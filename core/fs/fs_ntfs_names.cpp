// UTF-16LE <-> UTF-8 and $UpCase folding for NTFS names (see fs_ntfs_names.hpp).
#include "core/fs/fs_ntfs_names.hpp"

#include "core/base/bytes.hpp"

namespace vssimg::ntfs {

namespace {

constexpr char32_t k_replacement = 0xFFFD;

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

void append_utf16(std::u16string& out, char32_t c) {
  if (c < 0x10000) {
    out += static_cast<char16_t>(c);
  } else {
    c -= 0x10000;
    out += static_cast<char16_t>(0xD800 | (c >> 10));
    out += static_cast<char16_t>(0xDC00 | (c & 0x3FF));
  }
}

// Decodes one UTF-8 sequence at s[i], advancing i; invalid input yields U+FFFD.
char32_t next_code_point(const std::string& s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i++]);
  if (b0 < 0x80) return b0;
  size_t extra = b0 >= 0xF0 && b0 < 0xF5 ? 3 : b0 >= 0xE0 ? 2 : b0 >= 0xC2 && b0 < 0xE0 ? 1 : 0;
  if (extra == 0 || b0 >= 0xF5) return k_replacement;
  char32_t c = b0 & (0x3F >> extra);
  for (size_t k = 0; k < extra; ++k) {
    if (i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) return k_replacement;
    c = (c << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
  }
  const char32_t min[] = {0, 0x80, 0x800, 0x10000};
  if (c < min[extra] || c > 0x10FFFF || (c >= 0xD800 && c < 0xE000)) return k_replacement;
  return c;
}

}  // namespace

std::string utf16le_to_utf8(const uint8_t* p, size_t units) {
  std::string out;
  out.reserve(units);
  for (size_t i = 0; i < units; ++i) {
    char32_t c = get_u16(p + 2 * i);
    if (c >= 0xD800 && c < 0xDC00 && i + 1 < units) {
      char32_t low = get_u16(p + 2 * (i + 1));
      if (low >= 0xDC00 && low < 0xE000) {
        append_utf8(out, 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00));
        ++i;
        continue;
      }
    }
    append_utf8(out, c >= 0xD800 && c < 0xE000 ? k_replacement : c);
  }
  return out;
}

std::string utf16_to_utf8(const std::u16string& units) {
  std::vector<uint8_t> bytes;
  bytes.reserve(2 * units.size());
  for (char16_t c : units) put_u16(bytes, c);
  return utf16le_to_utf8(bytes.data(), units.size());
}

std::u16string utf8_to_utf16(const std::string& text) {
  std::u16string out;
  for (size_t i = 0; i < text.size();) append_utf16(out, next_code_point(text, i));
  return out;
}

std::u16string utf16le_units(const uint8_t* p, size_t units) {
  std::u16string out(units, u'\0');
  for (size_t i = 0; i < units; ++i) out[i] = static_cast<char16_t>(get_u16(p + 2 * i));
  return out;
}

UpCase::UpCase() : m_table(65536) {
  for (size_t c = 0; c < m_table.size(); ++c) {
    m_table[c] = static_cast<char16_t>(c >= 'a' && c <= 'z' ? c - 32 : c);
  }
}

UpCase::UpCase(const std::vector<uint8_t>& bytes) : UpCase() {
  if (bytes.size() != 2 * m_table.size()) return;
  for (size_t c = 0; c < m_table.size(); ++c) {
    m_table[c] = static_cast<char16_t>(get_u16(bytes.data() + 2 * c));
  }
}

int UpCase::compare(const std::u16string& a, const char16_t* b, size_t b_len) const {
  const size_t n = a.size() < b_len ? a.size() : b_len;
  for (size_t i = 0; i < n; ++i) {
    const char16_t x = fold(a[i]);
    const char16_t y = fold(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  if (a.size() == b_len) return 0;
  return a.size() < b_len ? -1 : 1;
}

}  // namespace vssimg::ntfs
