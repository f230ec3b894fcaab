// The exit codes cli/ picks (cli/exit_codes.hpp) for a finished command and for an error.
#include "cli/exit_codes.hpp"
#include "tests/catch.hpp"

using namespace vssimg;
using namespace vssimg::cli;

TEST_CASE("a finished command exits 3 with warnings, else 0", "[cli][exit]") {
  CHECK(exit_code_for_warnings(0) == 0);
  CHECK(exit_code_for_warnings(1) == 3);
  CHECK(exit_code_for_warnings(17) == 3);
}

TEST_CASE("each error kind has its documented exit code", "[cli][exit]") {
  CHECK(exit_code_for(ErrorKind::failure) == 1);
  CHECK(exit_code_for(ErrorKind::usage) == 2);
  CHECK(exit_code_for(ErrorKind::store_not_found) == 10);
  CHECK(exit_code_for(ErrorKind::store_locked) == 11);
  CHECK(exit_code_for(ErrorKind::damage) == 12);
  CHECK(exit_code_for(ErrorKind::vss) == 13);
  CHECK(exit_code_for(ErrorKind::privilege) == 14);
  CHECK(exit_code_for(ErrorKind::key_refused) == 15);
  CHECK(exit_code_for(ErrorKind::interrupted) == 130);
}
