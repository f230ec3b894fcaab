#include "image/storage_open.hpp"

#include "core/os/path.hpp"
#include "image/storage_local.hpp"

namespace vssimg {

namespace {
StorageOptions& options() {
  static StorageOptions o;
  return o;
}
}  // namespace

void set_storage_options(const StorageOptions& o) {
  options() = o;
}

bool is_object_store(const std::string& location) {
  return location.rfind("s3://", 0) == 0;
}

std::unique_ptr<Storage> open_storage(const std::string& location) {
  if (is_object_store(location)) return open_s3_storage(location, false, options());
  return LocalStorage::open_directory(path_from_utf8(location));
}

std::unique_ptr<Storage> create_storage(const std::string& location) {
  if (is_object_store(location)) return open_s3_storage(location, true, options());
  return LocalStorage::create_directory(path_from_utf8(location));
}

}  // namespace vssimg
