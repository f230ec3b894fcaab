// The sealed storage of encrypted stores (image/storage_sealed.hpp): objects round-trip at
// every size and read offset, and every change to the sealed bytes, or to where they are,
// is refused as damage.
#include "core/base/crypto.hpp"
#include "core/base/error.hpp"
#include "image/storage_local.hpp"
#include "image/storage_sealed.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <string>
#include <vector>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {

constexpr size_t C = k_sealed_chunk_size;

StoreId store_of(uint8_t b) {
  StoreId id;
  id.fill(b);
  return id;
}

struct SealedFixture {
  test::TempDir dir;
  MasterKey key = MasterKey::random();
  std::shared_ptr<const Sealer> sealer = std::make_shared<const Sealer>(key);
  std::unique_ptr<Storage> storage =
      seal_storage(LocalStorage::create_directory(dir / "store"), sealer, store_of(1));
  fs::path raw_path(const ObjectRef& ref) const { return fs::path(storage->describe(ref)); }

  void put(const ObjectRef& ref, const std::vector<uint8_t>& data) const {
    auto w = storage->create(ref);
    // Uneven appends: chunk boundaries must not depend on how the bytes arrive.
    size_t at = 0, step = 1;
    while (at < data.size()) {
      size_t n = std::min(step, data.size() - at);
      w->append(data.data() + at, n);
      at += n;
      step = step * 3 + 1;
    }
    w->commit();
  }
  std::vector<uint8_t> get(const ObjectRef& ref) const {
    return storage->read_all(ref, uint64_t{1} << 30);
  }
};

const ObjectRef k_pack{ObjectKind::pack, "00112233445566778899aabbccddeeff"};
const ObjectRef k_other{ObjectKind::pack, "ffeeddccbbaa99887766554433221100"};

}  // namespace

TEST_CASE("sealed storage: objects of every size round-trip and read by any range") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  SealedFixture f;
  // Past 64 chunks the writer hands its batch of sealed chunks on and starts another.
  for (size_t size : {size_t{0}, size_t{1}, C - 1, C, C + 1, 3 * C, 3 * C + 77, 64 * C - 1, 64 * C,
                      64 * C + 1, 130 * C + 5}) {
    const ObjectRef ref{ObjectKind::index, fmt::format("{:032x}", size)};
    auto data = test::pseudo_random(size, size + 1);
    f.put(ref, data);
    REQUIRE(f.storage->size(ref) == size);
    REQUIRE(f.get(ref) == data);
    auto raw = fs::file_size(f.raw_path(ref));
    REQUIRE(sealed_plain_size(raw, k_sealed_chunk_size) == size);
    auto reader = f.storage->open(ref);
    for (size_t off = 0; off < size; off += 997) {
      for (size_t len : {size_t{1}, size_t{48}, C, 2 * C + 5}) {
        std::vector<uint8_t> got(len);
        size_t n = reader->read_at(got.data(), len, off);
        REQUIRE(n == std::min(len, size - off));
        REQUIRE(std::equal(got.begin(), got.begin() + n, data.begin() + off));
      }
    }
  }
}

TEST_CASE("sealed storage: one append of many chunks, or many of one byte, read back the same") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  SealedFixture f;
  auto data = test::pseudo_random(200 * C + 3, 5);
  for (size_t first : {size_t{0}, size_t{1}, C, C + 7}) {
    const ObjectRef ref{ObjectKind::pack, fmt::format("{:032x}", first)};
    auto w = f.storage->create(ref);
    w->append(data.data(), first);  // then the rest at once: chunks sealed from the caller's bytes
    w->append(data.data() + first, data.size() - first);
    REQUIRE(w->size() == data.size());
    w->commit();
    REQUIRE(f.get(ref) == data);
  }
  const ObjectRef bytewise{ObjectKind::pack, fmt::format("{:032x}", 99)};
  auto w = f.storage->create(bytewise);
  for (size_t i = 0; i < 70 * C; ++i) w->append(data.data() + i, 1);
  w->commit();
  REQUIRE(f.get(bytewise) == std::vector<uint8_t>(data.begin(), data.begin() + 70 * C));
}

TEST_CASE("sealed storage: nothing of the plain bytes is in the sealed object") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  SealedFixture f;
  std::string text;
  while (text.size() < 3 * C) text += "MARKER-budget.xlsx ";
  f.put(k_pack, std::vector<uint8_t>(text.begin(), text.end()));
  auto raw = test::read_file(f.raw_path(k_pack));
  std::string raw_text(raw.begin(), raw.end());
  REQUIRE(raw_text.find("MARKER") == std::string::npos);
  REQUIRE(raw.size() == text.size() + 40 + 4 * k_seal_tag_size);
}

TEST_CASE("sealed storage: altered, moved, cut or extended objects fail as damage") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  SealedFixture f;
  auto data = test::pseudo_random(3 * C + 100, 7);
  f.put(k_pack, data);
  f.put(k_other, data);
  const auto good = test::read_file(f.raw_path(k_pack));
  auto damaged = [&](const std::vector<uint8_t>& raw) {
    test::write_file(f.raw_path(k_pack), raw);
    try {
      f.get(k_pack);
    } catch (const Error& e) {
      return e.kind() == ErrorKind::damage;
    }
    return false;
  };
  for (size_t at : {size_t{20}, size_t{40}, size_t{40} + C + 3, good.size() - 1}) {
    auto raw = good;
    raw[at] ^= 0x01;
    CHECK(damaged(raw));
  }
  // Cut at a chunk boundary: what is left is whole chunks, but none was sealed as the last.
  CHECK(damaged(std::vector<uint8_t>(good.begin(), good.begin() + 40 + 2 * (C + 16))));
  auto longer = good;
  longer.resize(good.size() + C + 16, 0);
  CHECK(damaged(longer));
  // Two chunks exchanged within the object.
  auto swapped = good;
  std::swap_ranges(swapped.begin() + 40, swapped.begin() + 40 + C + 16,
                   swapped.begin() + 40 + C + 16);
  CHECK(damaged(swapped));
  // The other object's bytes (same content, its own name and nonce) under this name.
  CHECK(damaged(test::read_file(f.raw_path(k_other))));
  // The same bytes under another kind and the same name.
  test::write_file(f.raw_path(k_pack), good);
  REQUIRE(f.get(k_pack) == data);
  const ObjectRef as_index{ObjectKind::index, k_pack.name};
  fs::create_directories(f.raw_path(as_index).parent_path());
  test::write_file(f.raw_path(as_index), good);
  REQUIRE_THROWS_AS(f.get(as_index), Error);
}

TEST_CASE("sealed storage: another store's key or id does not open an object") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  SealedFixture f;
  auto data = test::pseudo_random(C / 2, 9);
  f.put(k_pack, data);
  // Unsealed kinds pass through as they are (and the config makes it a store to open).
  const ObjectRef cfg{ObjectKind::config, ""};
  f.storage->write(cfg, "plain", 5);
  REQUIRE(test::read_file(f.raw_path(cfg)).size() == 5);
  auto other_id =
      seal_storage(LocalStorage::open_directory(f.dir / "store"), f.sealer, store_of(2));
  REQUIRE_THROWS_AS(other_id->read_all(k_pack, 1 << 20), Error);
  MasterKey key2 = MasterKey::random();
  auto other_key = seal_storage(LocalStorage::open_directory(f.dir / "store"),
                                std::make_shared<const Sealer>(key2), store_of(1));
  REQUIRE_THROWS_AS(other_key->read_all(k_pack, 1 << 20), Error);
}

TEST_CASE("sealed storage: sizes that no sealed object has are refused") {
  REQUIRE_FALSE(sealed_plain_size(0, C));
  REQUIRE_FALSE(sealed_plain_size(40 + 15, C));
  REQUIRE(sealed_plain_size(40 + 16, C) == 0u);
  REQUIRE(sealed_plain_size(40 + C + 16, C) == C);
  REQUIRE_FALSE(sealed_plain_size(40 + C + 16 + 16, C));  // an empty chunk after a full one
  REQUIRE(sealed_plain_size(40 + C + 16 + 17, C) == C + 1);
}

TEST_CASE("sealed storage: an empty object is authenticated when it is opened") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  SealedFixture f;
  const ObjectRef empty{ObjectKind::index, std::string(32, 'e')};
  f.put(empty, {});
  REQUIRE(f.get(empty).empty());
  f.put(k_pack, test::pseudo_random(C / 2, 3));
  // A header with any 16 bytes after it has the size of an empty object; reading nothing
  // from it must not make it pass for one (a point, index segment or pack emptied by
  // someone without the key).
  auto forged = test::read_file(f.raw_path(k_pack));
  forged.resize(40 + k_seal_tag_size);
  test::write_file(f.raw_path(k_pack), forged);
  try {
    f.storage->open(k_pack);
    FAIL("a forged empty object opened");
  } catch (const Error& e) {
    REQUIRE(e.kind() == ErrorKind::damage);
  }
  // The real empty object's bytes under another name.
  test::write_file(f.raw_path(k_pack), test::read_file(f.raw_path(empty)));
  REQUIRE_THROWS_AS(f.storage->open(k_pack), Error);
}

TEST_CASE("sealed storage: a damaged object's size is its raw size") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  SealedFixture f;
  f.put(k_pack, test::pseudo_random(C, 5));
  test::write_file(f.raw_path(k_pack), std::vector<uint8_t>(40 + 7, 0));
  REQUIRE(f.storage->size(k_pack) == 47u);
  REQUIRE_THROWS_AS(f.storage->open(k_pack), Error);
}

TEST_CASE("sealed storage: the next read of the chunk last opened needs no read of the object") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  SealedFixture f;
  auto data = test::pseudo_random(2 * C, 11);
  f.put(k_pack, data);
  auto reader = f.storage->open(k_pack);
  uint8_t a[16], b[16];
  REQUIRE(reader->read_at(a, sizeof a, C + 100) == sizeof a);
  // Alter the object's bytes behind the open reader: a read that went to them would fail.
  auto raw = test::read_file(f.raw_path(k_pack));
  for (size_t i = 40 + C + 16; i < raw.size(); ++i) raw[i] ^= 0xff;
  test::write_file(f.raw_path(k_pack), raw);
  REQUIRE(reader->read_at(b, sizeof b, C + 200) == sizeof b);
  REQUIRE(std::equal(a, a + 16, data.begin() + C + 100));
  REQUIRE(std::equal(b, b + 16, data.begin() + C + 200));
  // Another chunk is read from the object (the first chunk is unaltered).
  REQUIRE(reader->read_at(a, sizeof a, 10) == sizeof a);
  REQUIRE(std::equal(a, a + 16, data.begin() + 10));
  // And the altered chunk, once it is not the one kept, fails.
  REQUIRE_THROWS_AS(reader->read_at(b, sizeof b, C + 300), Error);
}
