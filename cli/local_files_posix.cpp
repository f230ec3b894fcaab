#include "cli/local_files.hpp"

#include "core/base/error.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

namespace vssimg::cli {

namespace {
timespec to_timespec(int64_t ns) {
  timespec t{};
  if (ns == 0) {
    t.tv_nsec = UTIME_OMIT;
    return t;
  }
  int64_t sec = ns / 1000000000;
  int64_t rem = ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    --sec;
  }
  t.tv_sec = static_cast<time_t>(sec);
  t.tv_nsec = static_cast<long>(rem);
  return t;
}
}  // namespace

void set_file_times(const std::filesystem::path& path, int64_t accessed_ns, int64_t modified_ns) {
  const timespec times[2] = {to_timespec(accessed_ns), to_timespec(modified_ns)};
  if (utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    throw_errno("setting the times of", path.string(), errno);
}

bool local_name_char_ok(char c) {
  return c != '/' && c != '\0';
}

}  // namespace vssimg::cli
