// Key files of encrypted stores (image/keys.hpp): the format, and add / list / unlock /
// remove / passwd over a local storage, none of which changes the master key.
#include "core/base/error.hpp"
#include "core/base/bytes.hpp"
#include "core/base/hash.hpp"
#include "image/keys.hpp"
#include "image/keys_dpapi.hpp"
#include "image/storage.hpp"
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

// Why decode_key_file refuses `b` (its message and whether it is damage), or "decoded".
std::string cause_of(const std::vector<uint8_t>& b) {
  try {
    decode_key_file(b.data(), b.size(), "key-x");
  } catch (const Error& e) {
    return std::string(e.what()) + (e.kind() == ErrorKind::damage ? " [damage]" : " [other]");
  }
  return std::string("decoded");
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
#ifndef _WIN32  // Windows: an owner-only DACL (restrict_to_owner), not mode bits
  REQUIRE((fs::status(dir / "store" / (first + ".key")).permissions() & fs::perms::others_read) ==
          fs::perms::none);
#endif
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

namespace {

// A DPAPI key file built byte by byte from docs/format.md (protection 2): the head with
// zero Argon2id fields, blob length, blob, XXH3-64 of everything before it.
std::vector<uint8_t> canned_dpapi_key(const std::vector<uint8_t>& blob) {
  std::vector<uint8_t> b(140 + blob.size() + 8, 0);
  std::memcpy(b.data(), "VSSIMGKY", 8);
  b[8] = 1;                                    // version
  b[12] = 2;                                   // protection: DPAPI
  for (int i = 0; i < 16; ++i) b[16 + i] = 9;  // store id
  for (int i = 0; i < 8; ++i) b[32 + i] = static_cast<uint8_t>(0x88 - 0x11 * i);  // key id
  b[40] = 0x00, b[41] = 0x2c, b[42] = 0x2e, b[43] = 0x69;                         // created
  std::memcpy(b.data() + 72, "win-host", 8);
  b[136] = static_cast<uint8_t>(blob.size());
  b[137] = static_cast<uint8_t>(blob.size() >> 8);
  if (!blob.empty()) std::memcpy(b.data() + 140, blob.data(), blob.size());
  set_u64(b.data() + 140 + blob.size(), checksum64(b.data(), 140 + blob.size()));
  return b;
}

void fix_checksum(std::vector<uint8_t>& b) {
  set_u64(b.data() + b.size() - 8, checksum64(b.data(), b.size() - 8));
}

}  // namespace

TEST_CASE("keys: a DPAPI key file's layout decodes and encodes back", "[keys]") {
  const std::vector<uint8_t> blob = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4};
  auto bytes = canned_dpapi_key(blob);
  REQUIRE(bytes.size() == 153);
  // The same bytes as tests/fuzz/corpus/fuzz_key/valid-dpapi-key, checksum from xxhsum -H3.
  REQUIRE(get_u64(bytes.data() + 145) == 0xf901cd997e4eabdfull);
  KeyFile k = decode_key_file(bytes.data(), bytes.size(), "key-x");
  REQUIRE(k.protection == k_key_protection_dpapi);
  REQUIRE(std::string(key_protection_name(k.protection)) == "dpapi");
  REQUIRE(k.key_id == 0x1122334455667788ull);
  REQUIRE(k.created == 1764633600);
  REQUIRE(k.host == "win-host");
  REQUIRE(k.store_id == store_id_of(9));
  REQUIRE(k.wrapped == blob);
  REQUIRE(encode_key_file(k) == bytes);
  MasterKey out;
  REQUIRE_FALSE(unwrap_key_file(k, "any password", out));  // not a password key
  auto longer = bytes;
  longer.insert(longer.begin() + 145, 0);  // one byte more than the length field says
  fix_checksum(longer);
  REQUIRE(contains(cause_of(longer), "154 bytes, not 153 for a DPAPI blob of 5 [damage]"));
  auto empty = canned_dpapi_key({});
  REQUIRE(contains(cause_of(empty), "DPAPI blob of 0 bytes [damage]"));
  auto huge = bytes;
  huge[137] = 0x10;  // 4101 bytes
  REQUIRE(contains(cause_of(huge), "DPAPI blob of 4101 bytes [damage]"));
  REQUIRE(contains(cause_of({bytes.begin(), bytes.begin() + 139}), "too short [damage]"));
  auto argon = bytes;
  argon[48] = 3;
  fix_checksum(argon);
  REQUIRE(contains(cause_of(argon), "a DPAPI key with Argon2id parameters [damage]"));
  auto flipped = bytes;
  flipped[141] ^= 1;
  REQUIRE(contains(cause_of(flipped), "checksum mismatch [damage]"));
  std::vector<uint8_t> max_blob(2048, 0x5a);
  KeyFile big = decode_key_file(canned_dpapi_key(max_blob).data(), 140 + 2048 + 8, "key-x");
  REQUIRE(big.wrapped.size() == 2048);
}

TEST_CASE("keys: a DPAPI key beside a password key", "[keys]") {
  if (!crypto_available()) return;  // a build without libsodium (VSSIMG_SODIUM=OFF)
  test::TempDir dir;
  auto storage = LocalStorage::create_directory(dir / "store");
  const StoreId sid = store_id_of(9);
  MasterKey master = MasterKey::random();
  const std::string pw = add_key(*storage, master, sid, "alpha", "h", 1, quick_params());
  std::string machine;
#ifdef _WIN32
  machine = add_dpapi_key(*storage, master, sid, "h", 2);
  std::string opened;
  auto unlocked = unlock_store_dpapi(*storage, sid, &opened);
  REQUIRE(unlocked);
  REQUIRE(same_key(*unlocked, master));
  REQUIRE(opened == machine);
  REQUIRE_FALSE(unlock_store_dpapi(*storage, store_id_of(8)));  // the entropy is the store id
#else
  REQUIRE_FALSE(dpapi_available());
  REQUIRE_THROWS_WITH(make_dpapi_key(master, sid, "h", 2),
                      Catch::Contains("DPAPI keys exist only on Windows"));
  auto bytes = canned_dpapi_key({1, 2, 3});
  machine = "key-1122334455667788";
  auto writer = storage->create(ObjectRef{ObjectKind::key, machine});
  writer->append(bytes.data(), bytes.size());
  writer->commit();
  REQUIRE_FALSE(unlock_store_dpapi(*storage, sid));  // listed, skipped
#endif
  auto keys = list_keys(*storage);
  REQUIRE(keys.size() == 2);
  REQUIRE(same_key(unlock_store(*storage, sid, "alpha"), master));
  try {
    unlock_store(*storage, sid, "wrong");
    FAIL("a wrong password opened the store");
  } catch (const Error& e) {
    REQUIRE(e.kind() == ErrorKind::key_refused);
    REQUIRE(contains(e.what(), "none of the 1 password key"));
  }
  REQUIRE_THROWS_WITH(remove_key(*storage, pw), Catch::Contains("last password key"));
  REQUIRE(remove_key(*storage, machine) == machine);
  REQUIRE(list_keys(*storage).size() == 1);
}
