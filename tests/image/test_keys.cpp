// Key files of encrypted stores (image/keys.hpp): the format, and add / list / unlock /
// remove / passwd over a local storage, none of which changes the master key.
#include "core/base/error.hpp"
#include "image/keys.hpp"
#include "image/storage_local.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <cstring>
#include <filesystem>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {

PwhashParams quick_params() {
  PwhashParams p;
  p.ops = 1;
  p.mem_bytes = 8u << 20;  // small: unit tests
  return p;
}

StoreId store_id_of(uint8_t fill) {
  StoreId id{};
  id.fill(fill);
  return id;
}

// tests/fuzz/corpus/fuzz_key/valid-password-key, the fuzz target's seed (made by hand with
// xxhsum -H3 for the checksum), so the seed is known to be a valid key file.
std::vector<uint8_t> seed_key_file() {
  const std::string hex =
      "565353494d474b590100000001000000000102030405060708090a0b0c0d0e0fefcdab89"
      "67452301002c2e690000000003000000000001006465666768696a6b6c6d6e6f70717273"
      "736565642d686f7374000000000000000000000000000000000000000000000000000000"
      "0000000000000000000000000000000000000000000000000000000000070e151c232a31"
      "383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5fc030a11181f262d"
      "343b424950575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1a6043757d024a622";
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool same_key(const MasterKey& a, const MasterKey& b) {
  return std::memcmp(a.data(), b.data(), k_master_key_size) == 0;
}

}  // namespace

TEST_CASE("keys: a key file encodes, decodes and unwraps only with its password", "[keys]") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  MasterKey master = MasterKey::random();
  KeyFile k =
      make_password_key(master, store_id_of(1), "pw-one", "host1", 1764633600, quick_params());
  auto bytes = encode_key_file(k);
  REQUIRE(bytes.size() == key_layout::k_size);
  KeyFile back = decode_key_file(bytes.data(), bytes.size(), "k");
  REQUIRE(back.key_id == k.key_id);
  REQUIRE(back.host == "host1");
  REQUIRE(back.params.ops == 1);
  REQUIRE(back.params.mem_bytes == (8u << 20));
  REQUIRE(encode_key_file(back) == bytes);
  MasterKey out;
  REQUIRE(unwrap_key_file(back, "pw-one", out));
  REQUIRE(same_key(out, master));
  REQUIRE_FALSE(unwrap_key_file(back, "pw-two", out));
  // Changing a parameter (checksum fixed up) breaks the wrap's associated data.
  KeyFile changed = back;
  changed.params.ops = 2;
  REQUIRE_FALSE(unwrap_key_file(changed, "pw-one", out));
}

TEST_CASE("keys: damaged key files are refused naming the cause", "[keys]") {
  auto seed = seed_key_file();
  REQUIRE(seed.size() == key_layout::k_size);
  KeyFile k = decode_key_file(seed.data(), seed.size(), "seed");  // the fuzz seed is valid
  REQUIRE(k.host == "seed-host");
  REQUIRE(k.key_id == 0x0123456789abcdefull);
  auto cause_of = [](std::vector<uint8_t> b) {
    try {
      decode_key_file(b.data(), b.size(), "key-x");
    } catch (const Error& e) {
      return std::string(e.what()) + (e.kind() == ErrorKind::damage ? " [damage]" : " [other]");
    }
    return std::string("decoded");
  };
  auto flipped = seed;
  flipped[100] ^= 1;
  REQUIRE(contains(cause_of(flipped), "checksum mismatch"));
  REQUIRE(contains(cause_of(flipped), "[damage]"));
  REQUIRE(contains(cause_of({seed.begin(), seed.begin() + 100}), "216"));
  REQUIRE(contains(cause_of({'X', 'Y'}), "bad magic"));
  auto newer = seed;
  newer[8] = 2;
  try {
    decode_key_file(newer.data(), newer.size(), "key-x");
    FAIL("a newer key file decoded");
  } catch (const Error& e) {
    REQUIRE(e.kind() == ErrorKind::newer_format);
  }
}

TEST_CASE("keys: add, unlock, passwd and remove keep the master key", "[keys]") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  test::TempDir dir;
  auto storage = LocalStorage::create_directory(dir / "store");
  const StoreId sid = store_id_of(7);
  MasterKey master = MasterKey::random();
  const std::string first = add_key(*storage, master, sid, "alpha", "h", 1, quick_params());
  REQUIRE(fs::exists(dir / "store" / (first + ".key")));
  REQUIRE((fs::status(dir / "store" / (first + ".key")).permissions() & fs::perms::others_read) ==
          fs::perms::none);
  std::string opened;
  REQUIRE(same_key(unlock_store(*storage, sid, "alpha", &opened), master));
  REQUIRE(opened == first);
  try {
    unlock_store(*storage, sid, "wrong");
    FAIL("a wrong password opened the store");
  } catch (const Error& e) {
    REQUIRE(e.kind() == ErrorKind::key_refused);
  }
  REQUIRE_THROWS_AS(remove_key(*storage, first), Error);  // never the last key
  // passwd = add a key with the new password, then remove the old one.
  const std::string second = add_key(*storage, master, sid, "beta", "h", 2, quick_params());
  REQUIRE(list_keys(*storage).size() == 2);
  REQUIRE(remove_key(*storage, first.substr(4, 6)) == first);  // by a prefix of its digits
  REQUIRE(same_key(unlock_store(*storage, sid, "beta"), master));
  REQUIRE_THROWS(unlock_store(*storage, sid, "alpha"));
  // A key of another store does not open this one.
  REQUIRE_THROWS(unlock_store(*storage, store_id_of(8), "beta"));
}

TEST_CASE("keys: a store whose only key file is damaged says so", "[keys]") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  test::TempDir dir;
  auto storage = LocalStorage::create_directory(dir / "store");
  MasterKey master = MasterKey::random();
  const std::string name = add_key(*storage, master, store_id_of(3), "pw", "h", 1, quick_params());
  auto path = dir / "store" / (name + ".key");
  auto bytes = test::read_file(path);
  bytes[50] ^= 0x40;
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  test::write_file(path, bytes);
  try {
    unlock_store(*storage, store_id_of(3), "pw");
    FAIL("opened with a damaged key file");
  } catch (const Error& e) {
    REQUIRE(e.kind() == ErrorKind::damage);
    REQUIRE(contains(e.what(), "checksum mismatch"));
  }
  auto keys = list_keys(*storage);
  REQUIRE(keys.size() == 1);
  REQUIRE_FALSE(keys[0].key);
}
