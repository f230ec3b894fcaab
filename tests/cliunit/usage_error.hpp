// The message of the Error(usage) a CLI parser throws, for the cli unit tests.
#pragma once

#include "core/base/error.hpp"
#include "tests/catch.hpp"

#include <string>

namespace vssimg::test {

// Runs `parse`; fails the test unless it throws Error with kind usage. Returns what().
template <class F>
std::string usage_error(F&& parse) {
  try {
    parse();
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::usage);
    return e.what();
  }
  FAIL("no Error was thrown");
  return {};
}

}  // namespace vssimg::test
