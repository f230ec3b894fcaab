#include "core/base/error.hpp"
#include "image/restore_target.hpp"

#include <fcntl.h>
#include <io.h>

namespace vssimg {

std::FILE* binary_stdout() {
  if (::_isatty(::_fileno(stdout))) {
    throw Error(ErrorKind::usage, "restoring to", "standard output",
                "is a console; redirect it to a file or a pipe (vssimg restore POINT - > FILE)");
  }
  ::_setmode(::_fileno(stdout), _O_BINARY);
  return stdout;
}

}  // namespace vssimg
