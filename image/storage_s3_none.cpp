// A build without libcurl/libsodium (the MinGW cross build): s3:// stores are refused.
#include "core/base/error.hpp"
#include "image/storage_open.hpp"

namespace vssimg {

std::unique_ptr<Storage> open_s3_storage(const std::string& url, bool, const StorageOptions&) {
  throw Error(ErrorKind::usage, "opening store", url,
              "this build of vssimg has no S3 support (built without libcurl)");
}

}  // namespace vssimg
