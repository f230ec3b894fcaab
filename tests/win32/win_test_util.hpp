// Helpers for the Windows-only tests (TempDir etc. come from tests/helpers.hpp).
#pragma once

#include "core/base/progress.hpp"
#include "tests/helpers.hpp"

#include <string>
#include <vector>

namespace vssimg::test {

class RecordingSink : public ProgressSink {
 public:
  void warning(const std::string& text) override { warnings.push_back(text); }
  void info(const std::string& text) override { infos.push_back(text); }
  std::vector<std::string> warnings;
  std::vector<std::string> infos;
};

}  // namespace vssimg::test
