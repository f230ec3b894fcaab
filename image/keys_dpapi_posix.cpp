// DPAPI keys outside Windows: listed by `key list`, skipped when unlocking, never written.
#include "core/base/error.hpp"
#include "image/keys_dpapi.hpp"

namespace vssimg {

bool dpapi_available() {
  return false;
}

std::vector<uint8_t> dpapi_protect(const MasterKey&, const StoreId&) {
  throw Error(ErrorKind::usage, "adding DPAPI key", "this system",
              "DPAPI keys exist only on Windows");
}

bool dpapi_unprotect(const std::vector<uint8_t>&, const StoreId&, MasterKey&, std::string& why) {
  why = "DPAPI keys exist only on Windows";
  return false;
}

}  // namespace vssimg
