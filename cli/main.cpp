#include "cli/context.hpp"
#include "core/os/process.hpp"

#include <vector>

int main(int argc, char** argv) {
  // Windows hands argv over in the ANSI code page; every path in vssimg is UTF-8.
  std::vector<std::string> args = vssimg::utf8_arguments(argc, argv);
  std::vector<char*> pointers;
  for (auto& a : args) pointers.push_back(a.data());
  pointers.push_back(nullptr);
  vssimg::use_utf8_console();
  return vssimg::cli::run_cli(static_cast<int>(args.size()), pointers.data());
}
