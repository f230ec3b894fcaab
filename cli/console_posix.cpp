#include "cli/console.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

namespace vssimg::cli {

int stderr_columns() {
  struct winsize ws {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) != 0) return 0;
  return ws.ws_col;
}

}  // namespace vssimg::cli
