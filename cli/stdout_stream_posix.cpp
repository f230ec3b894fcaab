#include "cli/stdout_stream.hpp"

#include <unistd.h>

namespace vssimg::cli {

bool stdout_is_console() {
  return isatty(STDOUT_FILENO) == 1;
}

void set_stdout_binary() {}

}  // namespace vssimg::cli
