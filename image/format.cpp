#include "image/format.hpp"

#include "core/base/error.hpp"

#include <fmt/format.h>

namespace vssimg {

namespace {
const char* kind_name(FormatKind kind) {
  switch (kind) {
    case FormatKind::store:
      return "store";
    case FormatKind::pack:
      return "pack";
    case FormatKind::index_segment:
      return "index segment";
    case FormatKind::point:
      return "point";
    case FormatKind::damage:
      return "damage record";
    case FormatKind::key:
      return "key file";
  }
  return "file";
}

// A config is read while opening the store; every other file while reading it.
const char* operation_of(FormatKind kind) {
  return kind == FormatKind::store ? "opening store" : "reading";
}
}  // namespace

void check_format_version(FormatKind kind, uint32_t version, const std::string& name) {
  if (version <= k_format_version) return;
  throw Error(ErrorKind::newer_format, operation_of(kind), name,
              fmt::format("{} format version {} is newer than this build supports ({}); "
                          "use a newer vssimg",
                          kind_name(kind), version, k_format_version));
}

void check_required_features(FormatKind kind, uint32_t required, uint32_t known,
                             const std::string& name) {
  if ((required & ~known) == 0) return;
  throw Error(ErrorKind::newer_format, operation_of(kind), name,
              fmt::format("{} requires features {:#x} that this build (format {}) lacks",
                          kind_name(kind), required & ~known, k_format_version));
}

}  // namespace vssimg
