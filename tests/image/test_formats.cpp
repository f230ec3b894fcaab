#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "image/config.hpp"
#include "image/index.hpp"
#include "image/pack.hpp"
#include "image/point.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <cstring>
#include <filesystem>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {
StoreId test_store_id() {
  StoreId id{};
  id.fill(0x42);
  return id;
}

struct PackFixture {
  test::TempDir dir;
  BlockHasher hasher{test::pseudo_random(k_secret_size, 9)};
  std::vector<std::vector<uint8_t>> blocks;
  std::vector<BlockId> ids;
  std::vector<PackEntry> entries;
  fs::path path;

  PackFixture() {
    fs::create_directories(dir / "tmp");
    PackWriter w(dir.path(), test_store_id());
    for (int i = 0; i < 5; ++i) {
      blocks.push_back(i % 2 ? test::pseudo_random(4096, static_cast<uint64_t>(i))
                             : std::vector<uint8_t>(4096, static_cast<uint8_t>('a' + i)));
      ids.push_back(hasher.hash(blocks.back().data(), 4096));
      std::vector<uint8_t> packed(compress_bound(4096));
      size_t n = lz4_compress(blocks.back().data(), 4096, packed.data(), packed.size());
      if (n)
        w.add(ids.back(), Codec::lz4, packed.data(), static_cast<uint32_t>(n), 4096);
      else
        w.add(ids.back(), Codec::raw, blocks.back().data(), 4096, 4096);
    }
    entries = w.commit();
    path = dir.path() / pack_relative_path(w.id());
  }
};
}  // namespace

TEST_CASE("pack write and read back") {
  PackFixture f;
  REQUIRE(fs::exists(f.path));
  REQUIRE(fs::is_empty(f.dir / "tmp"));
  File pack(f.path, File::Open::read);
  auto table = read_pack_table(pack, test_store_id());
  REQUIRE(table.size() == 5);
  for (size_t i = 0; i < 5; ++i) {
    REQUIRE(table[i].id == f.ids[i]);
    std::vector<uint8_t> buf(k_record_header_size + 8192), out(4096);
    size_t got = pack.read_at(buf.data(), buf.size(), table[i].offset);
    uint32_t raw = 0;
    REQUIRE(check_record(buf.data(), got, f.ids[i], f.hasher, out.data(), out.size(), raw).empty());
    REQUIRE(raw == 4096);
    REQUIRE(out == f.blocks[i]);
  }
  REQUIRE(table[0].codec == Codec::lz4);
  REQUIRE(table[1].codec == Codec::raw);
}

TEST_CASE("a damaged pack record is detected") {
  PackFixture f;
  File pack(f.path, File::Open::read_write);
  auto table = read_pack_table(pack, test_store_id());
  uint8_t b;
  uint64_t where = table[3].offset + k_record_header_size + 100;
  pack.read_exact_at(&b, 1, where);
  b ^= 0x10;
  pack.write_at(&b, 1, where);
  std::vector<uint8_t> buf(k_record_header_size + 8192), out(4096);
  size_t got = pack.read_at(buf.data(), buf.size(), table[3].offset);
  uint32_t raw = 0;
  REQUIRE(check_record(buf.data(), got, f.ids[3], f.hasher, out.data(), out.size(), raw) ==
          "checksum mismatch");
  // A record asked for under another id is refused even if intact.
  got = pack.read_at(buf.data(), buf.size(), table[2].offset);
  REQUIRE_FALSE(check_record(buf.data(), got, f.ids[1], f.hasher, out.data(), out.size(), raw).empty());
}

TEST_CASE("a damaged or foreign pack table is detected") {
  PackFixture f;
  {
    File pack(f.path, File::Open::read);
    StoreId other{};
    REQUIRE_THROWS_AS(read_pack_table(pack, other), Error);
  }
  File pack(f.path, File::Open::read_write);
  uint64_t size = pack.size();
  uint8_t b;
  pack.read_exact_at(&b, 1, size - k_pack_trailer_size - 5);
  b ^= 1;
  pack.write_at(&b, 1, size - k_pack_trailer_size - 5);
  try {
    read_pack_table(pack, test_store_id());
    FAIL("expected damage");
  } catch (const Error& e) {
    REQUIRE(e.kind() == ErrorKind::damage);
    REQUIRE(std::string(e.what()).find("table checksum mismatch") != std::string::npos);
  }
  pack.resize(size - 7);
  REQUIRE_THROWS_AS(read_pack_table(pack, test_store_id()), Error);
}

TEST_CASE("index segment round trip and lookup") {
  PackFixture f;
  PackId pid;
  REQUIRE(PackId::parse(f.path.stem().string(), pid));
  fs::create_directories(f.dir / "index");
  auto seg_path = write_index_segment(f.dir.path(), test_store_id(), {{pid, f.entries}});
  Segment seg = read_index_segment(seg_path, test_store_id());
  REQUIRE(seg.packs.size() == 1);
  REQUIRE(seg.entries.size() == 5);
  REQUIRE(std::is_sorted(seg.entries.begin(), seg.entries.end(),
                         [](const SegmentEntry& a, const SegmentEntry& b) { return a.id < b.id; }));
  BlockIndex index;
  uint32_t ord = index.add_pack(pid);
  for (const auto& e : seg.entries) REQUIRE(index.insert(e.id, BlockLocation{ord, e.offset}));
  REQUIRE_FALSE(index.insert(seg.entries[0].id, BlockLocation{ord, 1}));
  for (size_t i = 0; i < 5; ++i) {
    BlockLocation loc;
    REQUIRE(index.find(f.ids[i], loc));
    REQUIRE(loc.offset == f.entries[i].offset);
  }
  REQUIRE_FALSE(index.contains(f.hasher.hash("x", 1)));

  // Truncated segment: damage, never a crash.
  File seg_file(seg_path, File::Open::read_write);
  seg_file.resize(seg_file.size() - 20);
  REQUIRE_THROWS_AS(read_index_segment(seg_path, test_store_id()), Error);
}

TEST_CASE("block index grows and keeps every entry") {
  BlockHasher h(test::pseudo_random(k_secret_size, 4));
  BlockIndex index;
  std::vector<BlockId> ids;
  for (uint32_t i = 0; i < 20000; ++i) {
    ids.push_back(h.hash(&i, sizeof i));
    REQUIRE(index.insert(ids.back(), BlockLocation{i % 7, i}));
  }
  REQUIRE(index.size() == 20000);
  for (uint32_t i = 0; i < 20000; ++i) {
    BlockLocation loc;
    REQUIRE(index.find(ids[i], loc));
    REQUIRE(loc.offset == i);
  }
  // Budget: at most 42 bytes per entry (24-byte slots, at least 57% full).
  REQUIRE(index.memory_bytes() <= index.size() * 42 + 64 * 24);
}

TEST_CASE("point file round trip, damage and metadata escaping") {
  Point p;
  p.id = new_point_id();
  REQUIRE(valid_point_id(p.id));
  p.block_size = 65536;
  BlockHasher h(test::pseudo_random(k_secret_size, 4));
  for (uint32_t i = 0; i < 70000; ++i) {  // more than one chunk
    p.map.push_back(i % 3 == 0   ? BlockId::zero_marker()
                    : i % 3 == 1 ? BlockId::free_marker()
                                 : h.hash(&i, 4));
  }
  p.meta.set("id", p.id);
  p.meta.set("label", "nightly\nwith=equals % and\ttab");
  p.meta.set_int("created", 1700000000);
  auto bytes = encode_point(p);
  Point q = decode_point(bytes.data(), bytes.size(), p.id);
  REQUIRE(q.map == p.map);
  REQUIRE(q.meta.get("label") == p.meta.get("label"));
  REQUIRE(q.created() == 1700000000);
  auto info = decode_point_info(bytes.data(), bytes.size(), p.id);
  REQUIRE(info.block_count == 70000);

  auto damaged = bytes;
  damaged[damaged.size() / 2] ^= 0x40;
  REQUIRE_THROWS_AS(decode_point(damaged.data(), damaged.size(), p.id), Error);
  REQUIRE_THROWS_AS(decode_point(bytes.data(), bytes.size() - 1, p.id), Error);
  REQUIRE_THROWS_AS(decode_point(bytes.data(), bytes.size(), "0000000000000000"), Error);
  for (size_t cut : {size_t{0}, size_t{10}, size_t{41}, bytes.size() / 3}) {
    REQUIRE_THROWS_AS(decode_point(bytes.data(), cut, p.id), Error);
  }
}

TEST_CASE("config round trip, newer version and unknown features") {
  StoreConfig c;
  c.block_size = 262144;
  c.store_id = test_store_id();
  c.secret = test::pseudo_random(k_secret_size, 1);
  auto bytes = encode_config(c);
  REQUIRE(bytes.size() == k_config_size);
  StoreConfig d = decode_config(bytes.data(), bytes.size(), "config");
  REQUIRE(d.block_size == c.block_size);
  REQUIRE(d.secret == c.secret);

  auto newer = c;
  newer.version = 7;
  auto nb = encode_config(newer);
  try {
    decode_config(nb.data(), nb.size(), "config");
    FAIL("expected refusal");
  } catch (const Error& e) {
    REQUIRE(e.kind() == ErrorKind::store_not_found);
    REQUIRE(std::string(e.what()).find("version 7") != std::string::npos);
    REQUIRE(std::string(e.what()).find("(1)") != std::string::npos);
  }
  auto feat = c;
  feat.required_features = 4;
  auto fb = encode_config(feat);
  REQUIRE_THROWS_AS(decode_config(fb.data(), fb.size(), "config"), Error);
  bytes[30] ^= 1;
  try {
    decode_config(bytes.data(), bytes.size(), "config");
    FAIL("expected damage");
  } catch (const Error& e) {
    REQUIRE(e.kind() == ErrorKind::damage);
  }
}
