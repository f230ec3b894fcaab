// What extract needs of the local filesystem beyond core/os/file.hpp: setting a
// file's access and modification times, and which characters a local name may hold.
// POSIX in local_files_posix.cpp, Windows in local_files_win32.cpp.
#pragma once

#include <cstdint>
#include <filesystem>

namespace vssimg::cli {

// Sets the access and modification times (nanoseconds since 1970, UTC) of `path`, a
// file or directory; a time of 0 leaves that one as it is. Throws Error naming the path.
void set_file_times(const std::filesystem::path& path, int64_t accessed_ns, int64_t modified_ns);

// False for a character a name read from a volume must not bring into a local path:
// a separator (and on Windows ':' and '\', which would name a stream or a directory).
bool local_name_char_ok(char c);

}  // namespace vssimg::cli
