// The one place a store's location (--store, VSSIMG_STORE) becomes a Storage: a local
// directory or UNC path, or s3://BUCKET/PREFIX (storage_s3.hpp; the AWS_* environment and
// the shared credentials file say where and as whom).
#pragma once

#include "image/storage.hpp"

#include <memory>
#include <string>

namespace vssimg {

class ProgressSink;

// How object stores are reached; set once by cli/ before a store is opened.
struct StorageOptions {
  bool s3_path_style = false;    // path-style URLs even without AWS_ENDPOINT_URL
  ProgressSink* sink = nullptr;  // where retries are logged
  // --connections: transfers in parallel on an object store (0: the default,
  // k_default_connections); ignored by local stores.
  unsigned connections = 0;
};
void set_storage_options(const StorageOptions& options);

// True for "s3://..." locations.
bool is_object_store(const std::string& location);

// Opens the storage of an existing store. Throws Error(store_not_found) when there is none.
std::unique_ptr<Storage> open_storage(const std::string& location);
// Makes an empty storage for a new store (a new directory, or the bucket when missing).
std::unique_ptr<Storage> create_storage(const std::string& location);

// The S3 side (storage_s3_config.cpp, or storage_s3_none.cpp in a build without libcurl).
std::unique_ptr<Storage> open_s3_storage(const std::string& url, bool create,
                                         const StorageOptions& options);

}  // namespace vssimg
