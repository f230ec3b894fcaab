#include "core/base/progress.hpp"

namespace vssimg {

ProgressSink& null_progress() {
  static ProgressSink sink;
  return sink;
}

}  // namespace vssimg
