#include "cli/tree_path.hpp"
#include "core/base/error.hpp"
#include "image/point_source.hpp"
#include "tests/catch.hpp"

#include <string>

using namespace vssimg;

namespace {
// What rethrow_at makes of `thrown`, as the message the user reads.
template <class E>
std::string rethrown(const E& thrown) {
  try {
    try {
      throw thrown;
    } catch (...) {
      cli::rethrow_at("extracting", "/docs/a.txt");
    }
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("rethrow_at: a block no copy gives back keeps its point and volume offset") {
  const PointReadError store(ErrorKind::damage, "reading",
                             "point 0123456789abcdef at volume offset 65536",
                             "reading pack 00ff at offset 32: checksum mismatch");
  CHECK(rethrown(store) ==
        "extracting /docs/a.txt: reading point 0123456789abcdef at volume offset 65536: "
        "reading pack 00ff at offset 32: checksum mismatch");
  // The filesystem's own damage: the path replaces its object, the cause stays.
  const Error parsed(ErrorKind::damage, "reading", "MFT record 40", "fixup mismatch");
  CHECK(rethrown(parsed) == "extracting /docs/a.txt: fixup mismatch");
  // Anything but damage is not touched.
  const Error usage(ErrorKind::usage, "listing", "/x", "not a directory");
  CHECK(rethrown(usage) == "listing /x: not a directory");
}
