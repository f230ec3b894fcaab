// The local-directory storage: write-once objects, uncommitted writers, listings, ranged
// reads, removal and locks, as Storage promises them (image/storage.hpp).
#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "image/lock.hpp"
#include "image/storage_local.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <filesystem>
#include <string>
#include <vector>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {
struct StorageFixture {
  test::TempDir dir;
  std::unique_ptr<LocalStorage> storage = LocalStorage::create_directory(dir / "store");

  void put(ObjectKind kind, const std::string& name, const std::string& text) const {
    storage->write(ObjectRef{kind, name}, text.data(), text.size());
  }
  std::string get(ObjectKind kind, const std::string& name) const {
    auto bytes = storage->read_all(ObjectRef{kind, name}, 1 << 20);
    return std::string(bytes.begin(), bytes.end());
  }
};
}  // namespace

TEST_CASE("storage: an object is written once and never overwritten") {
  StorageFixture f;
  const ObjectRef ref{ObjectKind::point, "0123456789abcdef"};
  f.put(ref.kind, ref.name, "first");
  REQUIRE_THROWS_AS(f.put(ref.kind, ref.name, "second"), Error);
  REQUIRE(f.get(ref.kind, ref.name) == "first");
  REQUIRE(fs::is_empty(f.storage->tmp_dir()));  // the refused write left nothing behind

  // Advisory state alone may be replaced whole.
  const ObjectRef state{ObjectKind::state, "verify"};
  f.storage->write(state, "a", 1, WriteMode::replace);
  f.storage->write(state, "bc", 2, WriteMode::replace);
  REQUIRE(f.get(state.kind, state.name) == "bc");
}

TEST_CASE("storage: a writer destroyed without commit leaves nothing visible") {
  StorageFixture f;
  const ObjectRef ref{ObjectKind::pack, "00112233445566778899aabbccddeeff"};
  {
    auto w = f.storage->create(ref);
    w->append("partial", 7);
    REQUIRE(w->size() == 7);
    REQUIRE_FALSE(f.storage->size(ref));
    REQUIRE(f.storage->list(ObjectKind::pack).empty());
  }
  REQUIRE_FALSE(f.storage->size(ref));
  REQUIRE(f.storage->list(ObjectKind::pack).empty());
  REQUIRE(fs::is_empty(f.storage->tmp_dir()));
  REQUIRE_THROWS_AS(f.storage->open(ref), Error);

  auto w = f.storage->create(ref);
  w->append("whole", 5);
  w->commit();
  REQUIRE(f.storage->size(ref) == 5u);
  REQUIRE(f.storage->list(ObjectKind::pack) == std::vector<std::string>{ref.name});
}

TEST_CASE("storage: list, size, ranged reads and removal") {
  StorageFixture f;
  f.put(ObjectKind::index, "bb", "segment two");
  f.put(ObjectKind::index, "aa", "segment one");
  f.put(ObjectKind::point, "0000000000000001", "p");
  f.put(ObjectKind::pack, "ab01", "0123456789");
  f.put(ObjectKind::pack, "cd02", "x");
  REQUIRE(f.storage->list(ObjectKind::index) == std::vector<std::string>{"aa", "bb"});
  REQUIRE(f.storage->list(ObjectKind::point) == std::vector<std::string>{"0000000000000001"});
  REQUIRE(f.storage->list(ObjectKind::pack) == std::vector<std::string>{"ab01", "cd02"});
  REQUIRE(f.storage->list(ObjectKind::lock).empty());
  REQUIRE(f.storage->list(ObjectKind::config).empty());
  REQUIRE(f.storage->size(ObjectRef{ObjectKind::index, "aa"}) == 11u);
  REQUIRE_FALSE(f.storage->size(ObjectRef{ObjectKind::index, "cc"}));

  const ObjectRef pack{ObjectKind::pack, "ab01"};
  char buf[8] = {};
  REQUIRE(f.storage->read_at(pack, buf, 4, 3) == 4);
  REQUIRE(std::string(buf, 4) == "3456");
  REQUIRE(f.storage->read_at(pack, buf, 8, 7) == 3);  // short only at the end
  auto reader = f.storage->open(pack);
  REQUIRE(reader->size() == 10);
  REQUIRE_THROWS_AS(reader->read_exact_at(buf, 4, 8), Error);
  REQUIRE_THROWS_AS(f.storage->read_all(pack, 9), Error);
  reader.reset();  // Windows deletes an open file only when its last handle closes

  REQUIRE(f.storage->remove(ObjectRef{ObjectKind::index, "aa"}));
  REQUIRE_FALSE(f.storage->remove(ObjectRef{ObjectKind::index, "aa"}));
  f.storage->remove_all(ObjectKind::pack, {"ab01", "cd02", "ef03"});  // a missing one is fine
  REQUIRE(f.storage->list(ObjectKind::pack).empty());
  REQUIRE(f.storage->list(ObjectKind::index) == std::vector<std::string>{"bb"});
}

TEST_CASE("storage: names never reach outside their folder") {
  StorageFixture f;
  for (const char* bad : {"../config", "a/b", "", ".hidden", "c:d"}) {
    REQUIRE_THROWS_AS(f.put(ObjectKind::point, bad, "x"), Error);
  }
  REQUIRE_THROWS_AS(f.put(ObjectKind::config, "other", "x"), Error);
}

TEST_CASE("storage: interrupted writers' leftovers are cleaned, live writers' never") {
  StorageFixture f;
  const fs::path tmp = f.storage->root() / "tmp";
  auto put_tmp = [&](const std::string& folder, const char* file) {
    fs::create_directories(tmp / folder);
    test::write_file(tmp / folder / file, {1});
  };
  test::write_file(tmp / "x.pack.1234.tmp", {1, 2});          // an earlier build's loose file
  const std::string mine = LocalStorage::process_tmp_name();  // <host>-<pid>-<started>-<rnd>
  put_tmp(mine, "mine.tmp");                                  // being written by this process
  const size_t pid_at = mine.rfind('-', mine.rfind('-', mine.rfind('-') - 1) - 1) + 1;
  const std::string host = mine.substr(0, pid_at);  // "<host>-"
  put_tmp(host + "999999999-1-ab", "a.tmp");        // this host, a pid that is no process
  put_tmp(host + std::to_string(process_id()) + "-1-ab", "b.tmp");  // this pid, earlier start
  put_tmp("other.host-1-1-ab", "c.tmp");                            // another host's: never judged
#ifndef _WIN32
  put_tmp(host + "1-1-ab", "d.tmp");  // this host's pid 1 (init): alive
#endif
  REQUIRE(f.storage->clean_leftovers() == 3);
  REQUIRE(fs::exists(tmp / mine / "mine.tmp"));
  REQUIRE(fs::exists(tmp / "other.host-1-1-ab" / "c.tmp"));
  REQUIRE_FALSE(fs::exists(tmp / (host + "999999999-1-ab")));
#ifndef _WIN32
  REQUIRE(fs::exists(tmp / (host + "1-1-ab") / "d.tmp"));
#endif
  f.storage->clean_leftovers(Leftovers::all);  // under the exclusive lock: all but this one's
  REQUIRE(fs::exists(tmp / mine / "mine.tmp"));
  fs::remove(tmp / mine / "mine.tmp");
  REQUIRE(f.storage->clean_leftovers(Leftovers::all) == 0);
  REQUIRE(std::distance(fs::directory_iterator(tmp), fs::directory_iterator()) == 1);
}

TEST_CASE("storage: locks and holder info") {
  StorageFixture f;
  {
    auto writer = f.storage->lock(LockMode::shared, WriterLock::shared, "backup");
    REQUIRE(f.storage->list(ObjectKind::lock).size() == 1);
    try {
      f.storage->lock(LockMode::exclusive, WriterLock::none, "prune");
      FAIL("exclusive lock granted beside a shared one");
    } catch (const Error& e) {
      REQUIRE(e.kind() == ErrorKind::store_locked);
    }
  }
  REQUIRE(f.storage->list(ObjectKind::lock).empty());  // released with its info
  f.put(ObjectKind::lock, "other.host-4242", "command=backup\nhost=other.host\npid=4242\n");
  auto ex = f.storage->lock(LockMode::exclusive, WriterLock::none, "prune");
  // Under the exclusive lock no one else holds a lock: another host's info is a leftover.
  REQUIRE(f.storage->list(ObjectKind::lock).size() == 1);

  LockHolder h{"backup C:", "srv1", 42, 1700000000};
  REQUIRE(decode_lock_info(encode_lock_info(h), lock_info_name(h)).command == "backup C:");
  LockHolder cut = decode_lock_info("", "srv-2-77");  // killed before writing its info
  REQUIRE(cut.host == "srv-2");
  REQUIRE(cut.pid == 77);
}
