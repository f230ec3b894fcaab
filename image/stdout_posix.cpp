#include "core/base/error.hpp"
#include "image/restore_target.hpp"

#include <unistd.h>

namespace vssimg {

std::FILE* binary_stdout() {
  if (::isatty(STDOUT_FILENO)) {
    throw Error(ErrorKind::usage, "restoring to", "standard output",
                "is a console; redirect it to a file or a pipe (vssimg restore POINT - > FILE)");
  }
  return stdout;
}

}  // namespace vssimg
