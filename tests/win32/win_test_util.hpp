// Helpers for the Windows-only tests: a temporary folder and a ProgressSink that records.
#pragma once

#include "core/platform.hpp"
#include "core/progress.hpp"

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace vssimg::test {

class TempDir {
 public:
  TempDir() {
    auto bytes = random_bytes(8);
    std::string name = "vssimg-test-";
    for (auto b : bytes) name += "0123456789abcdef"[b & 15];
    m_path = std::filesystem::temp_directory_path() / name;
    std::filesystem::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

class RecordingSink : public ProgressSink {
 public:
  void warning(const std::string& text) override { warnings.push_back(text); }
  void info(const std::string& text) override { infos.push_back(text); }
  std::vector<std::string> warnings;
  std::vector<std::string> infos;
};

}  // namespace vssimg::test
