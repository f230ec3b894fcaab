#include "cli/console.hpp"

#include <windows.h>

namespace vssimg::cli {

int stderr_columns() {
  CONSOLE_SCREEN_BUFFER_INFO info{};
  if (!::GetConsoleScreenBufferInfo(::GetStdHandle(STD_ERROR_HANDLE), &info)) return 0;
  // The visible window, not the (often 9001 lines by 120+ columns) buffer.
  return info.srWindow.Right - info.srWindow.Left + 1;
}

}  // namespace vssimg::cli
