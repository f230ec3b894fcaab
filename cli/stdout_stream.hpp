// Standard output as a binary stream, for `export ... -` (the VHDX goes down a pipe).
// stdout_stream_posix.cpp / stdout_stream_win32.cpp.
#pragma once

namespace vssimg::cli {

// True when standard output is an interactive console (a VHDX is not sent there).
bool stdout_is_console();
// Makes standard output take bytes as they are (Windows: no CRLF translation).
void set_stdout_binary();

}  // namespace vssimg::cli
