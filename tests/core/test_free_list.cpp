// FreeList (core/base/free_list.hpp): a buffer given back comes out of the next take(),
// emptied with its room; no more than the cap are kept.
#include "core/base/free_list.hpp"

#include "tests/catch.hpp"

#include <string>

using namespace vssimg;

TEST_CASE("free list: a given buffer is taken again, empty, with its room", "[free_list]") {
  FreeList<std::string> list(2);
  CHECK(list.take().capacity() < 4096);  // nothing kept yet: a new, small one
  std::string s(100000, 'x');
  const char* room = s.data();
  list.give(std::move(s));
  CHECK(list.size() == 1);
  std::string again = list.take();
  CHECK(again.empty());
  CHECK(again.capacity() >= 100000);
  CHECK(again.data() == room);
  CHECK(list.size() == 0);
}

TEST_CASE("free list: keeps at most its cap", "[free_list]") {
  FreeList<std::string> list(2);
  for (int i = 0; i < 5; ++i) list.give(std::string(1000, 'y'));
  CHECK(list.size() == 2);
  CHECK(list.take().capacity() >= 1000);
  CHECK(list.take().capacity() >= 1000);
  CHECK(list.size() == 0);
}
