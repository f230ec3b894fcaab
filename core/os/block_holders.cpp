#include "core/os/block_holders.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

namespace vssimg {

namespace {

namespace fs = std::filesystem;

std::string read_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

// The mount point of the device "major:minor" in mountinfo text ("" if not mounted).
// Each line: id parent major:minor root mount-point ...
std::string mount_point_of(const std::string& mountinfo, const std::string& dev) {
  std::istringstream lines(mountinfo);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string id, parent, numbers, root, point;
    if (fields >> id >> parent >> numbers >> root >> point && numbers == dev) return point;
  }
  return "";
}

// The names in `dir/holders` (devices built on this one).
std::vector<std::string> holders_of(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir / "holders", ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  return names;
}

// What uses the one device whose sysfs directory is `dir`, "" if nothing; `who` names it.
std::string user_of(const fs::path& dir, const std::string& mountinfo, const std::string& who) {
  const std::string dev = read_line(dir / "dev");
  if (!dev.empty()) {
    const std::string point = mount_point_of(mountinfo, dev);
    if (!point.empty()) return fmt::format("{} is mounted on {}", who, point);
  }
  const auto holders = holders_of(dir);
  if (!holders.empty()) {
    return fmt::format(
        "{} is held by {} (an LVM volume, md RAID or device-mapper device is "
        "built on it)",
        who, holders.front());
  }
  return "";
}

}  // namespace

std::string block_device_user_in(const fs::path& sysfs_root, const std::string& mountinfo,
                                 unsigned major, unsigned minor) {
  std::error_code ec;
  const fs::path dir =
      fs::canonical(sysfs_root / "dev" / "block" / fmt::format("{}:{}", major, minor), ec);
  if (ec) return "";
  std::string user = user_of(dir, mountinfo, "it");
  if (!user.empty()) return user;
  // A whole disk: its partitions are subdirectories that hold a "partition" file.
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!fs::exists(it->path() / "partition")) continue;
    user = user_of(it->path(), mountinfo, "its partition " + it->path().filename().string());
    if (!user.empty()) return user;
  }
  return "";
}

}  // namespace vssimg
