// NTFS names: UTF-16LE as stored in $FILE_NAME and attribute names, converted to UTF-8
// for TreeEntry and back for lookups, and compared case-insensitively through the
// volume's $UpCase table (what Windows does: one upper-case code unit per code unit,
// no locale, no normalisation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vssimg::ntfs {

// `units` UTF-16LE code units at `p` as UTF-8; an unpaired surrogate becomes U+FFFD.
std::string utf16le_to_utf8(const uint8_t* p, size_t units);

// The same for code units already in memory.
std::string utf16_to_utf8(const std::u16string& units);

// UTF-8 as UTF-16 code units; invalid UTF-8 bytes become U+FFFD (so they match nothing
// a volume can hold).
std::u16string utf8_to_utf16(const std::string& text);

// The volume's $UpCase table: 65536 entries. Without one (a table of the wrong size)
// only ASCII letters fold.
class UpCase {
 public:
  UpCase();
  // `bytes` is $UpCase's data: 65536 little-endian u16; anything else keeps ASCII folding.
  explicit UpCase(const std::vector<uint8_t>& bytes);
  char16_t fold(char16_t c) const { return m_table[c]; }
  // NTFS file name collation: code units folded, then compared as numbers; a prefix
  // sorts first. <0, 0, >0.
  int compare(const std::u16string& a, const char16_t* b, size_t b_len) const;

 private:
  std::vector<char16_t> m_table;
};

// The little-endian UTF-16 units at p as a u16string.
std::u16string utf16le_units(const uint8_t* p, size_t units);

}  // namespace vssimg::ntfs
