// Test helpers: temporary directories and files with deterministic pseudo-random data.
#pragma once

#include <atomic>

#include "core/source/block_source.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vssimg::test {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

 private:
  std::filesystem::path m_path;
};

// Deterministic bytes (xorshift) so failures reproduce.
std::vector<uint8_t> pseudo_random(size_t len, uint64_t seed);
void write_file(const std::filesystem::path& path, const std::vector<uint8_t>& data);
std::vector<uint8_t> read_file(const std::filesystem::path& path);

// An in-memory block source; `fail_at` makes reads covering that offset throw.
class MemorySource : public BlockSource {
 public:
  explicit MemorySource(std::vector<uint8_t> data, std::string name = "memory")
      : m_data(std::move(data)), m_name(std::move(name)) {}
  std::string name() const override { return m_name; }
  uint64_t size() const override { return m_data.size(); }
  void read_at(void* buf, size_t len, uint64_t offset) override;
  std::vector<uint8_t>& data() { return m_data; }
  uint64_t fail_at = UINT64_MAX;
  std::atomic<int> fail_times{0};  // reads covering fail_at that fail (then succeed); <0: all

 private:
  std::vector<uint8_t> m_data;
  std::string m_name;
};

}  // namespace vssimg::test
