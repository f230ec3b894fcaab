// What `ls` shows of an NTFS file: a TreeEntry built from its loaded attributes
// ($STANDARD_INFORMATION times and attributes, the unnamed $DATA size, named streams,
// $REPARSE_POINT tag and target), for the name it was reached by.
#pragma once

#include "core/fs/file_tree.hpp"
#include "core/fs/fs_ntfs_file.hpp"

#include <cstdint>
#include <string>

namespace vssimg::ntfs {

// FILE_ATTRIBUTE_* bits the reader looks at.
constexpr uint32_t k_file_attribute_sparse = 0x0200;
constexpr uint32_t k_file_attribute_reparse = 0x0400;
constexpr uint32_t k_file_attribute_compressed = 0x0800;
constexpr uint32_t k_file_attribute_encrypted = 0x4000;

// Reparse tags decoded into a target.
constexpr uint32_t k_reparse_mount_point = 0xA0000003;
constexpr uint32_t k_reparse_symlink = 0xA000000C;

// 100-ns intervals since 1601 as nanoseconds since 1970 (0 stays 0: not recorded).
int64_t filetime_to_unix_ns(uint64_t filetime);

// The entry of `file` under `name` (UTF-8). Throws FsRejected for attributes that are
// present but malformed.
TreeEntry make_entry(const MftFile& file, const std::string& name, uint64_t cluster_size);

// The name `file` has in directory `parent` (record number) outside the DOS namespace,
// or "" when it has none there.
std::string long_name_in(const MftFile& file, uint64_t parent);

}  // namespace vssimg::ntfs
