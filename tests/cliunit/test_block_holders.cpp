// block_device_user_in against a fake sysfs tree and mountinfo text: a mounted device, a
// mounted partition of a whole disk, a device with holders (LVM/md/dm), and one unused.
#include "core/os/block_holders.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <filesystem>
#include <fstream>
#include <string>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {
void put(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text << "\n";
}

// /sys/class/block/NAME with its dev file, linked from /sys/dev/block/MAJ:MIN.
fs::path add_device(const fs::path& sys, const fs::path& dir, const std::string& dev) {
  put(dir / "dev", dev);
  fs::create_directories(dir / "holders");
  fs::create_directories(sys / "dev" / "block");
  fs::create_directory_symlink(dir, sys / "dev" / "block" / dev);
  return dir;
}
}  // namespace

TEST_CASE("block devices in use are found in sysfs and mountinfo", "[cli][holders]") {
  test::TempDir tmp;
  const fs::path sys = tmp / "sys";
  const fs::path sdb = add_device(sys, sys / "devices" / "sdb", "8:16");
  const fs::path sdb1 = add_device(sys, sdb / "sdb1", "8:17");
  put(sdb1 / "partition", "1");
  const fs::path sdc = add_device(sys, sys / "devices" / "sdc", "8:32");
  put(sdc / "holders" / "dm-0", "");
  add_device(sys, sys / "devices" / "sdd", "8:48");

  const std::string mountinfo =
      "22 1 8:17 / /srv rw,relatime shared:1 - ext4 /dev/sdb1 rw\n"
      "23 1 0:21 / /proc rw - proc proc rw\n";
  CHECK(block_device_user_in(sys, mountinfo, 8, 17) == "it is mounted on /srv");
  CHECK(block_device_user_in(sys, mountinfo, 8, 16) == "its partition sdb1 is mounted on /srv");
  CHECK(block_device_user_in(sys, mountinfo, 8, 32).rfind("it is held by dm-0", 0) == 0);
  CHECK(block_device_user_in(sys, mountinfo, 8, 48).empty());
  CHECK(block_device_user_in(sys, mountinfo, 9, 9).empty());  // not in sysfs
  CHECK(block_device_user_in(sys, "", 8, 16).empty());        // nothing mounted
}
