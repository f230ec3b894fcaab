#include "tests/helpers.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "core/os/platform.hpp"

#include <cstring>

namespace vssimg::test {

TempDir::TempDir() {
  auto r = random_bytes(6);
  m_path = std::filesystem::temp_directory_path() / ("vssimg-test-" + to_hex(r.data(), r.size()));
  std::filesystem::create_directories(m_path);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

std::vector<uint8_t> pseudo_random(size_t len, uint64_t seed) {
  std::vector<uint8_t> out(len);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < len; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(out.data() + i, &x, std::min<size_t>(8, len - i));
  }
  return out;
}

void write_file(const std::filesystem::path& path, const std::vector<uint8_t>& data) {
  File f(path, File::Open::create_trunc);
  f.append(data.data(), data.size());
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  File f(path, File::Open::read);
  std::vector<uint8_t> out(static_cast<size_t>(f.size()));
  f.read_exact_at(out.data(), out.size(), 0);
  return out;
}

void MemorySource::read_at(void* buf, size_t len, uint64_t offset) {
  if (fail_at >= offset && fail_at < offset + len && fail_times != 0) {
    if (fail_times > 0) --fail_times;
    throw Error("reading", m_name + " at offset " + std::to_string(offset), "input/output error");
  }
  if (offset + len > m_data.size()) throw Error("reading", m_name, "beyond the end");
  std::memcpy(buf, m_data.data() + offset, len);
}

}  // namespace vssimg::test
