// Paths and UTF-8. Everything inside vssimg holds paths as UTF-8 std::string (the command
// line is turned into UTF-8 once, in cli/main.cpp); a std::filesystem::path is made only
// through path_from_utf8 and turned back only through path_to_utf8. The plain
// std::string constructor and path::string() use the ANSI code page on Windows, which
// garbles every name outside it (Chinese on a Western system, and so on).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace vssimg {

// UTF-8 -> path (UTF-16 on Windows, the bytes as they are on POSIX). Throws
// Error(usage) naming the text when it is not valid UTF-8 on Windows.
std::filesystem::path path_from_utf8(std::string_view utf8);

// path -> UTF-8, for messages, logs, JSON and the store. Never throws: an unpaired UTF-16
// surrogate (possible in Windows names) becomes U+FFFD.
std::string path_to_utf8(const std::filesystem::path& path);

}  // namespace vssimg
