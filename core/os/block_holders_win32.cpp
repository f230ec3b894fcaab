#include "core/os/block_holders.hpp"

namespace vssimg {

// Windows volumes are snapshotted (backup) or locked and dismounted (restore) instead.
std::string block_device_user(const std::filesystem::path&) {
  return "";
}

}  // namespace vssimg
