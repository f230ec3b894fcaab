// Whether a block device is in use by the system: it or one of its partitions is mounted,
// or another block device is built on it (an LVM volume, an md RAID, a dm-crypt or other
// device-mapper target: its sysfs "holders"). Reading such a device gives an image that is
// only crash-consistent; writing it would corrupt whatever uses it.
#pragma once

#include <filesystem>
#include <string>

namespace vssimg {

// What uses the block device `device` ("partition sdb1 is mounted on /srv", "dm-0 is
// built on it (LVM, md RAID or device-mapper)"); "" when nothing does, for anything that
// is not a block device, and where the platform has no such check (Windows: volumes are
// locked or snapshotted instead).
std::string block_device_user(const std::filesystem::path& device);

// The check itself, for the device numbered major:minor, with the sysfs tree at
// `sysfs_root` (normally /sys) and the text of /proc/self/mountinfo. Tests give a fake
// tree and text.
std::string block_device_user_in(const std::filesystem::path& sysfs_root,
                                 const std::string& mountinfo, unsigned major, unsigned minor);

}  // namespace vssimg
