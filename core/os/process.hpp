// Running user commands (--exec, --pre-snapshot, --post-snapshot) and the process's
// command line and console encoding. process_posix.cpp / process_win32.cpp.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vssimg {

// Runs `command` through the system shell (/bin/sh -c, cmd.exe /d /s /c) with `env`
// added to this process's environment, waits, and returns its exit code. Throws Error
// when it cannot be started; a signal-killed command returns 128 + signal (POSIX).
int run_shell_command(const std::string& command,
                      const std::vector<std::pair<std::string, std::string>>& env = {});

// The command-line arguments as UTF-8 (Windows: from GetCommandLineW, since argv is in
// the ANSI code page; POSIX: argv as is).
std::vector<std::string> utf8_arguments(int argc, char** argv);

// An environment variable as UTF-8, or nullopt when unset (Windows: GetEnvironmentVariableW,
// since getenv answers in the ANSI code page).
std::optional<std::string> utf8_environment_variable(const std::string& name);

// Makes the console show UTF-8 output (Windows: SetConsoleOutputCP; POSIX: nothing).
void use_utf8_console();

}  // namespace vssimg
