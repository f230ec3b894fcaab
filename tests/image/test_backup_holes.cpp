// Holes of sparse image files: recorded ZERO without being read (BlockSource::run_at).
#include "core/source/block_source.hpp"
#include "image/backup.hpp"
#include "image/restore.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {
constexpr uint32_t k_bs = 64 * 1024;

// A memory source whose holes are [hole_from, hole_to): they read as zeros, and a read
// that touches a byte of a hole fully inside a block fails the test.
class HoleySource final : public test::MemorySource {
 public:
  HoleySource(std::vector<uint8_t> data, uint64_t from, uint64_t to)
      : MemorySource(std::move(data), "holey"), m_from(from), m_to(to) {
    std::fill(this->data().begin() + static_cast<std::ptrdiff_t>(from),
              this->data().begin() + static_cast<std::ptrdiff_t>(to), uint8_t{0});
  }
  SourceRun run_at(uint64_t offset) override {
    ++questions;
    if (offset < m_from) return {false, m_from};
    if (offset < m_to) return {true, m_to};
    return {false, size()};
  }
  void read_at(void* buf, size_t len, uint64_t offset) override {
    const uint64_t first_whole = (m_from + k_bs - 1) / k_bs * k_bs;
    const uint64_t end_whole = m_to / k_bs * k_bs;
    if (offset < end_whole && offset + len > first_whole) read_a_hole = true;
    MemorySource::read_at(buf, len, offset);
  }
  std::atomic<bool> read_a_hole{false};
  int questions = 0;

 private:
  uint64_t m_from, m_to;
};

struct Fixture {
  test::TempDir dir;
  fs::path root = dir / "store";
  Fixture() { Store::create(root, k_bs); }
};
}  // namespace

TEST_CASE("holes: whole blocks recorded ZERO unread, partly-hole blocks read, FREE first") {
  Fixture f;
  Store store(f.root);
  // 20 blocks; hole from the middle of block 3 to the middle of block 12: blocks 4..11
  // are whole holes (8 blocks), blocks 3 and 12 are read.
  HoleySource src(test::pseudo_random(20 * k_bs, 4), 3 * k_bs + 100, 12 * k_bs + 7);
  // Block 5 (in the hole) and block 15 (data) are free: FREE wins over the hole.
  AllocationMap map("testfs", src.size(),
                    {{0, 5 * k_bs}, {6 * k_bs, 9 * k_bs}, {16 * k_bs, 4 * k_bs}});
  BackupOptions opts;
  opts.threads = 2;
  opts.allocation = &map;
  auto r = run_backup(store, src, opts, null_progress());
  CHECK_FALSE(src.read_a_hole);
  CHECK(r.stats.hole_skipped_bytes == 7 * k_bs);  // 4, 6..11
  CHECK(r.stats.zero_bytes == 7 * k_bs);
  CHECK(r.stats.free_skipped_bytes == 2 * k_bs);
  CHECK(r.stats.bytes_read == 11 * k_bs);
  CHECK(src.questions <= 4);  // one per run, not one per block
  Point p = store.load_point(r.point_id);
  CHECK(p.map[4] == BlockId::zero_marker());
  CHECK(p.map[5] == BlockId::free_marker());
  CHECK_FALSE(p.map[3].is_marker());
  CHECK_FALSE(p.map[12].is_marker());
  fs::path out = f.dir / "out";
  run_restore(store, p.id, out, RestoreOptions{}, null_progress());
  auto data = test::read_file(out);
  REQUIRE(data.size() == src.size());
  CHECK(std::equal(data.begin(), data.begin() + 5 * k_bs, src.data().begin()));
  CHECK(
      std::equal(data.begin() + 6 * k_bs, data.begin() + 15 * k_bs, src.data().begin() + 6 * k_bs));
}

TEST_CASE("holes: a source with none is read whole and asked once") {
  Fixture f;
  Store store(f.root);
  HoleySource src(test::pseudo_random(8 * k_bs, 5), 8 * k_bs, 8 * k_bs);
  BackupOptions opts;
  auto r = run_backup(store, src, opts, null_progress());
  CHECK(r.stats.hole_skipped_bytes == 0);
  CHECK(r.stats.bytes_read == 8 * k_bs);
  CHECK(src.questions == 1);
}
