// Reading an NTFS attribute's contents: resident values, runs of clusters with sparse
// runs skipped, the part past the initialized size (zeros, skipped), and LZNT1
// compressed attributes one compression unit at a time. Reads only the clusters the
// attribute stores.
#pragma once

#include "core/fs/fs_ntfs_file.hpp"
#include "core/fs/fs_ntfs_volume.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace vssimg::ntfs {

// Receives the bytes at `offset`; bytes never passed are zeros.
using DataSink = std::function<void(uint64_t offset, const uint8_t* data, size_t len)>;

// Passes the first data_size bytes of `s` to `sink`, in increasing offset order.
// Damaged runs or compressed data throw FsRejected naming `what`.
void read_stream(Volume& volume, const Stream& s, const DataSink& sink, const std::string& what);

}  // namespace vssimg::ntfs
