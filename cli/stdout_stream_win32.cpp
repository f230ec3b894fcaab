#include "cli/stdout_stream.hpp"

#include <fcntl.h>
#include <io.h>

#include <cstdio>

namespace vssimg::cli {

bool stdout_is_console() {
  return _isatty(_fileno(stdout)) != 0;
}

void set_stdout_binary() {
  _setmode(_fileno(stdout), _O_BINARY);
}

}  // namespace vssimg::cli
