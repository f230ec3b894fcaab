// Helpers for the allocation-map tests: temp directories, external tools found on PATH
// (plus the sbin directories, where mkfs.ext4 and mkntfs live), in-memory sources that
// can demand alignment. Own namespace: tests/helpers.hpp has a TempDir and MemorySource
// too, and one name for two different classes would break the ODR.
#pragma once

#include "core/source/block_source.hpp"
#include "core/base/error.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace vssimg::fs_test {

class MemorySource final : public BlockSource {
 public:
  explicit MemorySource(std::vector<uint8_t> bytes, uint32_t alignment = 1)
      : m_bytes(std::move(bytes)), m_alignment(alignment) {}
  std::string name() const override { return "memory"; }
  uint64_t size() const override { return m_bytes.size(); }
  uint32_t alignment() const override { return m_alignment; }
  void read_at(void* buf, size_t len, uint64_t offset) override {
    if (offset > m_bytes.size() || len > m_bytes.size() - offset) {
      throw Error("reading", "memory", "read past the end");
    }
    if (m_alignment > 1 &&
        (offset % m_alignment != 0 || (len % m_alignment != 0 && offset + len != m_bytes.size()))) {
      throw Error("reading", "memory", "unaligned read");
    }
    std::memcpy(buf, m_bytes.data() + offset, len);
    ++m_reads;
  }
  std::vector<uint8_t>& bytes() { return m_bytes; }
  size_t reads() const { return m_reads; }

 private:
  std::vector<uint8_t> m_bytes;
  uint32_t m_alignment;
  std::atomic<size_t> m_reads{0};
};

inline std::string find_tool(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/bin:/bin";
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    std::filesystem::path p = std::filesystem::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return {};
}

// Runs a shell command; returns its exit status and (if wanted) stdout.
inline int run(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = ::popen((cmd + (out ? " 2>/dev/null" : " >/dev/null 2>&1")).c_str(), "r");
  if (!p) return -1;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  int status = ::pclose(p);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::string quote(const std::filesystem::path& p) {
  return "'" + p.string() + "'";
}

inline std::vector<uint8_t> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file(const std::filesystem::path& p, const std::vector<uint8_t>& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

// Incompressible, non-zero-heavy content, distinct per seed.
inline std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng() | 1);
  return v;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vssimg-fs-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw Error("creating", tmpl, "mkdtemp failed");
    m_path = tmpl;
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

}  // namespace vssimg::fs_test
