// Point maps streamed chunk by chunk: the same bytes as encode_point, read back by
// PointMapReader; a backup compares with its parent across chunk boundaries.
#include "core/base/error.hpp"
#include "image/backup.hpp"
#include "image/point_map_stream.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <cstring>
#include <filesystem>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {
constexpr uint32_t k_bs = 64 * 1024;
constexpr size_t k_chunk = 65536;

Point sample_point(uint64_t blocks) {
  Point p;
  p.id = new_point_id();
  p.block_size = k_bs;
  p.meta.set("id", p.id);
  p.meta.set("source", "vol");
  for (uint64_t b = 0; b < blocks; ++b) {
    BlockId id{};
    if (b % 7 == 0) {
      id = BlockId::free_marker();
    } else {
      std::memcpy(id.bytes.data(), &b, sizeof b);  // distinct, not a marker
      id.bytes[15] = 0x42;
    }
    p.map.push_back(id);
  }
  return p;
}

std::vector<uint8_t> write_streamed(const Storage& storage, const Point& p, size_t cap,
                                    uint64_t* spilled) {
  PointMapWriter w(p.map.size(), cap);
  for (const auto& id : p.map) w.add(id);
  w.commit(storage, p.id, p.meta, p.block_size);
  *spilled = w.spilled_bytes();
  return storage.read_all(point_object(p.id), uint64_t{1} << 30);
}

struct Fixture {
  test::TempDir dir;
  fs::path root = dir / "store";
  Fixture() { Store::create(root, k_bs); }
};
}  // namespace

TEST_CASE("point map stream: the writer's bytes are encode_point's, spilled or not") {
  Fixture f;
  Store store(f.root);
  for (size_t cap : {size_t{1} << 30, size_t{1000}}) {
    Point p = sample_point(2 * k_chunk + 123);  // three chunks, the last short
    uint64_t spilled = 0;
    auto bytes = write_streamed(store.storage(), p, cap, &spilled);
    CHECK(bytes == encode_point(p));
    CHECK((cap < 1000000) == (spilled > 0));
    PointMapReader r(store.storage(), p.id);
    CHECK(r.info().block_count == p.map.size());
    std::vector<BlockId> back;
    for (;;) {
      const auto& c = r.next_chunk();
      if (c.empty()) break;
      back.insert(back.end(), c.begin(), c.end());
    }
    CHECK(back == p.map);
  }
}

TEST_CASE("point map stream: damage in a chunk or the trailer is reported, naming the point") {
  Fixture f;
  Store store(f.root);
  Point p = sample_point(k_chunk + 10);
  auto bytes = encode_point(p);
  SECTION("a flipped byte in the second chunk: the first reads, the second fails") {
    bytes[bytes.size() - 30] ^= 1;
  }
  SECTION("a flipped trailer checksum: fails after the last chunk") {
    bytes[bytes.size() - 16] ^= 1;
  }
  store.storage().write(point_object(p.id), bytes.data(), bytes.size());
  PointMapReader r(store.storage(), p.id);
  CHECK(r.next_chunk().size() == k_chunk);
  try {
    r.next_chunk();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::damage);
    CHECK(std::string(e.what()).find("point " + p.id) != std::string::npos);
  }
}

TEST_CASE("point map stream: a truncated point fails at open or at its chunk") {
  Fixture f;
  Store store(f.root);
  Point p = sample_point(k_chunk + 10);
  auto bytes = encode_point(p);
  bytes.resize(bytes.size() / 2);
  store.storage().write(point_object(p.id), bytes.data(), bytes.size());
  PointMapReader r(store.storage(), p.id);
  CHECK_THROWS_AS(
      [&] {
        while (!r.next_chunk().empty()) {
        }
      }(),
      Error);
}

namespace {
// A big source of which only a few blocks are used (the rest is never read).
class SparseUseSource final : public BlockSource {
 public:
  explicit SparseUseSource(uint64_t size) : m_size(size) {}
  std::string name() const override { return "big"; }
  uint64_t size() const override { return m_size; }
  void read_at(void* buf, size_t len, uint64_t offset) override {
    auto* out = static_cast<uint8_t*>(buf);
    for (size_t i = 0; i < len; ++i) {  // a mix of the offset: no two blocks alike
      uint64_t x = (offset + i) * 0x9E3779B97F4A7C15ull;
      x ^= x >> 31;
      x *= 0xBF58476D1CE4E5B9ull;
      out[i] = static_cast<uint8_t>(x >> 56);
    }
    for (size_t i = 0; i < len; ++i) {
      if ((offset + i) % k_bs == 0) out[i] ^= static_cast<uint8_t>(generation);  // every block
    }
  }
  int generation = 0;

 private:
  uint64_t m_size;
};
}  // namespace

TEST_CASE("backup compares with its parent chunk by chunk across chunk boundaries") {
  Fixture f;
  Store store(f.root);
  const uint64_t blocks = 2 * k_chunk + 500;
  SparseUseSource src(blocks * k_bs);
  const std::vector<uint64_t> used{0, k_chunk - 1, k_chunk, 2 * k_chunk + 499};
  std::vector<ByteRange> ranges;
  for (uint64_t b : used) ranges.push_back({b * k_bs, k_bs});
  AllocationMap map("testfs", src.size(), ranges);
  BackupOptions opts;
  opts.allocation = &map;
  auto r1 = run_backup(store, src, opts, null_progress());
  CHECK(r1.stats.bytes_read == used.size() * k_bs);
  auto r2 = run_backup(store, src, opts, null_progress());
  CHECK(r2.parent_id == r1.point_id);
  CHECK(r2.stats.parent_reused_bytes == used.size() * k_bs);
  CHECK(r2.stats.new_bytes == 0);
  Point p = store.load_point(r2.point_id);
  REQUIRE(p.map.size() == blocks);
  CHECK(p.map[k_chunk] == store.load_point(r1.point_id).map[k_chunk]);
  CHECK(p.map[1] == BlockId::free_marker());
  src.generation = 1;  // every used block changes
  auto r3 = run_backup(store, src, opts, null_progress());
  CHECK(r3.stats.parent_reused_bytes == 0);
  CHECK(r3.stats.new_blocks == used.size());
}
