#include "cli/context.hpp"

int main(int argc, char** argv) { return vssimg::cli::run_cli(argc, argv); }
