#include "core/base/error.hpp"
#include "core/os/process.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace vssimg {

int run_shell_command(const std::string& command,
                      const std::vector<std::pair<std::string, std::string>>& env) {
  for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
  int status = std::system(command.c_str());
  if (status == -1) throw_errno("running", command, errno);
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == 127)
      throw Error("running", command, "the shell could not run it (exit 127)");
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::vector<std::string> utf8_arguments(int argc, char** argv) {
  return {argv, argv + argc};
}

std::optional<std::string> utf8_environment_variable(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (!value) return std::nullopt;
  return std::string(value);
}

void use_utf8_console() {}

}  // namespace vssimg
