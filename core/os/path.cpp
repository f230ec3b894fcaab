#include "core/os/path.hpp"

#include "core/base/error.hpp"

#include <cstdint>
#include <system_error>
#include <type_traits>

namespace vssimg {

namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// What path::u8string() refuses: UTF-16 with an unpaired surrogate, which only a wide
// (Windows) path can hold; it becomes U+FFFD. A template, so POSIX never instantiates
// the wide branch.
template <typename Path>
std::string lossy_utf8(const Path& path) {
  if constexpr (!std::is_same_v<typename Path::value_type, wchar_t>) {
    return path.native();
  } else {
    const auto& wide = path.native();
    std::string out;
    for (size_t i = 0; i < wide.size(); ++i) {
      auto c = static_cast<uint32_t>(wide[i]) & 0xFFFF;
      auto next = i + 1 < wide.size() ? static_cast<uint32_t>(wide[i + 1]) & 0xFFFF : 0;
      if (c >= 0xD800 && c < 0xDC00 && next >= 0xDC00 && next < 0xE000) {
        append_utf8(out, 0x10000 + ((c - 0xD800) << 10) + (next - 0xDC00));
        ++i;
      } else {
        append_utf8(out, c >= 0xD800 && c < 0xE000 ? 0xFFFD : c);
      }
    }
    return out;
  }
}

}  // namespace

std::filesystem::path path_from_utf8(std::string_view utf8) {
  std::u8string text(utf8.begin(), utf8.end());
  try {
    return std::filesystem::path(text);
  } catch (const std::system_error&) {
    throw Error(ErrorKind::usage, "reading path", std::string(utf8), "not valid UTF-8");
  }
}

std::string path_to_utf8(const std::filesystem::path& path) {
  try {
    std::u8string text = path.u8string();
    return std::string(text.begin(), text.end());
  } catch (const std::system_error&) {
    return lossy_utf8(path);
  }
}

}  // namespace vssimg
