// For fuzz targets whose parser reads a File: the input as an in-memory file
// (memfd), opened by path through /proc/self/fd so the real File code runs.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace vssimg::fuzz {

// Replaces the memory file's contents with data and returns a path that opens it.
inline std::string mem_file(const uint8_t* data, size_t size) {
  static int fd = memfd_create("vssimg-fuzz", 0);
  if (fd < 0 || ftruncate(fd, 0) != 0) __builtin_trap();
  for (size_t done = 0; done < size;) {
    ssize_t n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) __builtin_trap();
    done += static_cast<size_t>(n);
  }
  return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace vssimg::fuzz
