#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "image/config.hpp"
#include "image/index.hpp"
#include "image/pack.hpp"
#include "image/point.hpp"
#include "image/storage_local.hpp"
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
  LocalStorage storage{dir.path()};
  BlockHasher hasher{test::pseudo_random(k_secret_size, 9)};
  std::vector<std::vector<uint8_t>> blocks;
  std::vector<BlockId> ids;
  std::vector<PackEntry> entries;
  fs::path path;
  ObjectRef ref{ObjectKind::pack, ""};

  PackFixture() {
    PackWriter w(storage, test_store_id());
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
    ref = pack_object(w.id());
    path = storage.path_of(ref);
  }
};
}  // namespace

// No file anywhere under `dir` (a store's tmp/ keeps the empty folders of live writers).
static bool no_files_under(const std::filesystem::path& dir) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_directory()) return false;
  }
  return true;
}

TEST_CASE("pack write and read back") {
  PackFixture f;
  REQUIRE(fs::exists(f.path));
  REQUIRE(no_files_under(f.dir / "tmp"));
  auto pack = f.storage.open(f.ref);
  auto table = read_pack_table(*pack, test_store_id(), "pack");
  REQUIRE(table.size() == 5);
  for (size_t i = 0; i < 5; ++i) {
    REQUIRE(table[i].id == f.ids[i]);
    std::vector<uint8_t> buf(k_record_header_size + 8192), out(4096);
    size_t got = pack->read_at(buf.data(), buf.size(), table[i].offset);
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
  auto table = read_pack_table(*f.storage.open(f.ref), test_store_id(), "pack");
  File pack(f.path, File::Open::read_write);
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
  REQUIRE_FALSE(
      check_record(buf.data(), got, f.ids[1], f.hasher, out.data(), out.size(), raw).empty());
}

TEST_CASE("a damaged or foreign pack table is detected") {
  PackFixture f;
  StoreId other{};
  REQUIRE_THROWS_AS(read_pack_table(*f.storage.open(f.ref), other, "pack"), Error);
  File pack(f.path, File::Open::read_write);
  uint64_t size = pack.size();
  uint8_t b;
  pack.read_exact_at(&b, 1, size - k_pack_trailer_size - 5);
  b ^= 1;
  pack.write_at(&b, 1, size - k_pack_trailer_size - 5);
  try {
    read_pack_table(*f.storage.open(f.ref), test_store_id(), "pack");
    FAIL("expected damage");
  } catch (const Error& e) {
    REQUIRE(e.kind() == ErrorKind::damage);
    REQUIRE(std::string(e.what()).find("table checksum mismatch") != std::string::npos);
  }
  pack.resize(size - 7);
  REQUIRE_THROWS_AS(read_pack_table(*f.storage.open(f.ref), test_store_id(), "pack"), Error);
}

TEST_CASE("index segment round trip and lookup") {
  PackFixture f;
  PackId pid;
  REQUIRE(PackId::parse(f.path.stem().string(), pid));
  auto seg_name = write_index_segment(f.storage, test_store_id(), {{pid, f.entries}});
  Segment seg = read_index_segment(f.storage, seg_name, test_store_id());
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
  File seg_file(f.storage.path_of(segment_object(seg_name)), File::Open::read_write);
  seg_file.resize(seg_file.size() - 20);
  REQUIRE_THROWS_AS(read_index_segment(f.storage, seg_name, test_store_id()), Error);
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
    REQUIRE(e.kind() == ErrorKind::newer_format);
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

namespace {
// The kind of the Error `f` throws (failure when it throws none).
template <class F>
ErrorKind kind_thrown(F&& f, std::string* what = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (what) *what = e.what();
    return e.kind();
  }
  return ErrorKind::failure;
}

// Re-seals a file whose XXH3-64 of all bytes before the 16-byte trailer sits at its start.
void reseal(std::vector<uint8_t>& bytes) {
  set_u64(bytes.data() + bytes.size() - 16, checksum64(bytes.data(), bytes.size() - 16));
}
}  // namespace

TEST_CASE("a newer index segment, point, pack or config is refused as newer_format") {
  PackFixture f;
  PackId pid;
  REQUIRE(PackId::parse(f.path.stem().string(), pid));
  std::string what;

  auto seg = encode_index_segment(test_store_id(), {{pid, f.entries}});
  set_u32(seg.data() + 8, 2);  // docs/format.md: version at offset 8
  reseal(seg);
  REQUIRE(kind_thrown([&] { decode_index_segment(seg.data(), seg.size(), test_store_id(), "s"); },
                      &what) == ErrorKind::newer_format);
  REQUIRE(what.find("index segment format version 2 is newer") != std::string::npos);
  REQUIRE(what.find("(1)") != std::string::npos);
  // A flipped version bit without a matching checksum is damage, not a newer format.
  set_u32(seg.data() + 8, 3);
  REQUIRE(kind_thrown([&] {
            decode_index_segment(seg.data(), seg.size(), test_store_id(), "s");
          }) == ErrorKind::damage);

  Point p;
  p.id = new_point_id();
  p.block_size = 65536;
  p.map.assign(3, BlockId::zero_marker());
  p.meta.set("id", p.id);
  auto point = encode_point(p);
  set_u32(point.data() + 8, 2);
  reseal(point);
  REQUIRE(kind_thrown([&] { decode_point(point.data(), point.size(), p.id); }, &what) ==
          ErrorKind::newer_format);
  REQUIRE(what.find("point format version 2 is newer") != std::string::npos);
  set_u32(point.data() + 8, 1);
  set_u32(point.data() + 12, 4);  // a required feature this build lacks
  reseal(point);
  REQUIRE(kind_thrown([&] { decode_point_info(point.data(), point.size(), p.id); }, &what) ==
          ErrorKind::newer_format);
  REQUIRE(what.find("requires features 0x4") != std::string::npos);

  {
    File pack(f.path, File::Open::read_write);
    uint8_t version[4];
    set_u32(version, 2);
    pack.write_at(version, 4, 8);
  }
  auto reader = f.storage.open(pack_object(pid));
  REQUIRE(kind_thrown([&] { read_pack_table(*reader, test_store_id(), "pack"); }, &what) ==
          ErrorKind::newer_format);
  REQUIRE(what.find("pack format version 2 is newer") != std::string::npos);

  StoreConfig c;
  c.block_size = 262144;
  c.secret = test::pseudo_random(k_secret_size, 1);
  auto config = encode_config(c);
  set_u32(config.data() + 8, 2);
  set_u64(config.data() + 244, checksum64(config.data(), 244));
  REQUIRE(kind_thrown([&] { decode_config(config.data(), config.size(), "config"); }) ==
          ErrorKind::newer_format);
}

TEST_CASE("encoders put every field at the offset docs/format.md gives") {
  // The offsets below are copied from docs/format.md, not from image/format.hpp.
  BlockHasher h(test::pseudo_random(k_secret_size, 5));
  const uint8_t payload[5] = {1, 2, 3, 4, 5};
  const BlockId id = h.hash(payload, sizeof payload);
  std::vector<uint8_t> rec;
  encode_record(id, Codec::raw, payload, 5, 5, rec);
  REQUIRE(rec.size() == 48 + 5);
  REQUIRE(std::memcmp(rec.data(), "VREC", 4) == 0);
  REQUIRE(get_u64(rec.data() + 8) == checksum64(rec.data() + 16, 32 + 5));
  REQUIRE(rec[16] == 0);  // codec raw
  REQUIRE(get_u32(rec.data() + 20) == 5);
  REQUIRE(get_u32(rec.data() + 24) == 5);
  REQUIRE(std::memcmp(rec.data() + 32, id.bytes.data(), 16) == 0);
  REQUIRE(std::memcmp(rec.data() + 48, payload, 5) == 0);

  PackFixture f;
  auto pack = test::read_file(f.path);
  REQUIRE(std::memcmp(pack.data(), "VSSIMGPK", 8) == 0);
  REQUIRE(get_u32(pack.data() + 8) == 1);
  REQUIRE(std::memcmp(pack.data() + 16, test_store_id().data(), 16) == 0);
  const uint8_t* trailer = pack.data() + pack.size() - 32;
  const uint64_t table_offset = get_u64(trailer);
  REQUIRE(get_u32(trailer + 8) == 5);
  REQUIRE(table_offset + 5 * 32 + 32 == pack.size());
  REQUIRE(get_u64(trailer + 16) == checksum64(pack.data() + table_offset, 5 * 32));
  REQUIRE(std::memcmp(trailer + 24, "VPKTAIL\0", 8) == 0);
  const uint8_t* entry = pack.data() + table_offset + 32;  // the second record's entry
  REQUIRE(std::memcmp(entry, f.ids[1].bytes.data(), 16) == 0);
  REQUIRE(get_u32(entry + 16) == f.entries[1].offset);
  REQUIRE(get_u32(entry + 20) == 4096);
  REQUIRE(get_u32(entry + 24) == f.entries[1].stored_len);
  REQUIRE(entry[28] == static_cast<uint8_t>(f.entries[1].codec));
  REQUIRE(f.entries[0].offset == 32);  // records start right after the header

  PackId pid;
  REQUIRE(PackId::parse(f.path.stem().string(), pid));
  auto seg = encode_index_segment(test_store_id(), {{pid, f.entries}});
  REQUIRE(std::memcmp(seg.data(), "VSSIMGIX", 8) == 0);
  REQUIRE(get_u32(seg.data() + 8) == 1);
  REQUIRE(get_u32(seg.data() + 12) == 1);
  REQUIRE(get_u64(seg.data() + 16) == 5);
  REQUIRE(std::memcmp(seg.data() + 24, test_store_id().data(), 16) == 0);
  REQUIRE(std::memcmp(seg.data() + 40, pid.bytes.data(), 16) == 0);
  REQUIRE(seg.size() == 40 + 16 + 5 * 32 + 16);
  const uint8_t* first = seg.data() + 56;
  REQUIRE(get_u32(first + 16) == 0);  // pack ordinal
  REQUIRE(get_u64(seg.data() + seg.size() - 16) == checksum64(seg.data(), seg.size() - 16));
  REQUIRE(std::memcmp(seg.data() + seg.size() - 8, "VIDXEND\0", 8) == 0);

  Point p;
  p.id = new_point_id();
  p.block_size = 65536;
  p.map.assign(70000, BlockId::free_marker());
  p.meta.set("id", p.id);
  auto point = encode_point(p);
  const std::string meta = p.meta.encode();
  REQUIRE(std::memcmp(point.data(), "VSSIMGPT", 8) == 0);
  REQUIRE(get_u32(point.data() + 8) == 1);
  REQUIRE(get_u32(point.data() + 16) == meta.size());
  REQUIRE(get_u32(point.data() + 20) == 2);  // chunks of 65 536 ids
  REQUIRE(get_u64(point.data() + 24) == 70000);
  REQUIRE(get_u32(point.data() + 32) == 65536);
  const uint8_t* chunk = point.data() + 40 + meta.size();
  REQUIRE(get_u32(chunk) == 65536 * 16);
  const uint32_t stored = get_u32(chunk + 4);
  REQUIRE(get_u64(chunk + 12) == checksum64(chunk + 20, stored));
  REQUIRE(std::memcmp(point.data() + point.size() - 8, "VPTEND\0\0", 8) == 0);

  StoreConfig c;
  c.block_size = 262144;
  c.store_id = test_store_id();
  c.created = -5;
  c.secret = test::pseudo_random(k_secret_size, 2);
  auto config = encode_config(c);
  REQUIRE(config.size() == 252);
  REQUIRE(std::memcmp(config.data(), "VSSIMGCF", 8) == 0);
  REQUIRE(get_u32(config.data() + 20) == 262144);
  REQUIRE(std::memcmp(config.data() + 24, test_store_id().data(), 16) == 0);
  REQUIRE(static_cast<int64_t>(get_u64(config.data() + 40)) == -5);
  REQUIRE(get_u32(config.data() + 48) == 192);
  REQUIRE(std::memcmp(config.data() + 52, c.secret.data(), 192) == 0);
  REQUIRE(get_u64(config.data() + 244) == checksum64(config.data(), 244));
}
