#include "core/os/block_holders.hpp"
#include "core/os/test_seams.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <fstream>
#include <sstream>

namespace vssimg {

std::string block_device_user(const std::filesystem::path& device) {
  if (auto user = test_seams::device_user(device.string())) return *user;
  struct stat st;
  if (::stat(device.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return "";
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream mountinfo;
  mountinfo << in.rdbuf();
  return block_device_user_in("/sys", mountinfo.str(), ::major(st.st_rdev), ::minor(st.st_rdev));
}

}  // namespace vssimg
