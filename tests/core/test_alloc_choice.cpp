#include "core/fs/alloc_choice.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

using namespace vssimg;

TEST_CASE("allocation choice: the volume bitmap only for Windows volumes, then the parsers") {
  test::MemorySource src(std::vector<uint8_t>(1 << 20, 0), "blank");

  AllocationChoice plain = choose_allocation(src, {});
  CHECK_FALSE(plain.map.has_value());
  CHECK_FALSE(plain.excluded_bytes.has_value());
  CHECK(plain.notes == std::vector<std::string>{"unknown filesystem: imaging all blocks"});

  // Not a volume the FSCTLs can ask (no device handle): said first, then the parsers.
  AllocationChoice volume = choose_allocation(src, {.windows_volume = true});
  CHECK_FALSE(volume.map.has_value());
  CHECK_FALSE(volume.excluded_bytes.has_value());
  CHECK(volume.notes ==
        std::vector<std::string>{"not a Windows volume", "unknown filesystem: imaging all blocks"});
}
