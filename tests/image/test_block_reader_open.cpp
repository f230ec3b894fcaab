// BlockReader opens each pack once, and never while holding up the others: on an object
// store an open is a HEAD and a GET, so a reader that held its mutex through them stalled
// every other thread's reads (the S3 restore of issue 17). A storage wrapper counts the
// opens and can hold one pack's open until the test lets it go.
#include "core/base/error.hpp"
#include "image/backup.hpp"
#include "image/block_reader.hpp"
#include "image/storage_local.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"
#include "tests/storage_forward.hpp"

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {

constexpr uint32_t k_bs = 64 * 1024;

struct Gate {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, int> opens;  // pack name -> opens that reached the storage
  std::string held;                  // the pack whose open waits until `released`
  bool released = false;
  std::string failing;  // the pack whose open throws, while `fail` holds
  bool fail = false;
};

class GatedStorage final : public test::ForwardingStorage {
 public:
  GatedStorage(const fs::path& root, Gate& g)
      : ForwardingStorage(LocalStorage::open_directory(root)), m_g(g) {}
  std::unique_ptr<ObjectReader> open(const ObjectRef& r) const override {
    if (r.kind == ObjectKind::pack) {
      std::unique_lock lock(m_g.mutex);
      ++m_g.opens[r.name];
      m_g.changed.notify_all();
      if (r.name == m_g.failing && m_g.fail) throw Error("opening", r.name, "injected failure");
      m_g.changed.wait(lock, [&] { return r.name != m_g.held || m_g.released; });
    }
    return inner().open(r);
  }

 private:
  Gate& m_g;
};

// Two backups of different data: two packs, each holding all blocks of one point.
struct TwoPacks {
  test::TempDir dir;
  Gate gate;
  std::vector<BlockId> first, second;  // the blocks of each point
  std::unique_ptr<Store> store;
  BlockIndex index;

  TwoPacks() {
    Store::create(dir / "store", k_bs);
    {
      Store plain(dir / "store");
      for (uint64_t seed : {21u, 22u}) {
        const auto data = test::pseudo_random(8 * k_bs, seed);
        test::MemorySource src(data, "vol");
        auto r = run_backup(plain, src, BackupOptions{}, null_progress());
        (seed == 21 ? first : second) = plain.load_point(r.point_id).map;
      }
    }
    store = std::make_unique<Store>(std::make_unique<GatedStorage>(dir / "store", gate));
    index = store->load_index(nullptr);
    REQUIRE(index.packs().size() == 2);
  }
  std::string pack_of(const BlockId& id) const {
    BlockLocation loc;
    REQUIRE(index.find(id, loc));
    return index.packs().at(loc.pack).hex();
  }
  int opens(const std::string& pack) {
    std::lock_guard lock(gate.mutex);
    return gate.opens[pack];
  }
};

uint32_t read_one(BlockReader& reader, const BlockId& id) {
  std::vector<uint8_t> out(k_bs), scratch;
  return reader.read(id, out.data(), scratch);
}

}  // namespace

TEST_CASE("block reader: threads reading one pack open it once", "[block_reader]") {
  TwoPacks t;
  BlockReader reader(*t.store, t.index);
  const std::string pack = t.pack_of(t.first.at(0));
  {
    std::lock_guard lock(t.gate.mutex);
    t.gate.held = pack;  // every thread is inside read() before the one open finishes
  }
  std::vector<std::future<uint32_t>> reads;
  for (const BlockId& id : t.first)
    reads.push_back(std::async(std::launch::async, [&, id] { return read_one(reader, id); }));
  {
    std::unique_lock lock(t.gate.mutex);
    t.gate.changed.wait(lock, [&] { return t.gate.opens[pack] == 1; });
    t.gate.released = true;
  }
  t.gate.changed.notify_all();
  for (auto& r : reads) CHECK(r.get() == k_bs);
  CHECK(t.opens(pack) == 1);
}

TEST_CASE("block reader: a pack being opened holds up no read of another pack", "[block_reader]") {
  TwoPacks t;
  BlockReader reader(*t.store, t.index);
  REQUIRE(read_one(reader, t.second.at(0)) == k_bs);  // the second pack is open
  const std::string slow = t.pack_of(t.first.at(0));
  {
    std::lock_guard lock(t.gate.mutex);
    t.gate.held = slow;
  }
  auto stuck = std::async(std::launch::async, [&] { return read_one(reader, t.first.at(0)); });
  {
    std::unique_lock lock(t.gate.mutex);
    t.gate.changed.wait(lock, [&] { return t.gate.opens[slow] == 1; });
  }
  // The slow open is under way: reads of the open pack go on. (Were they held up, this
  // would wait for ever; the bound only turns that into a failure, it times nothing.)
  auto other = std::async(std::launch::async, [&] {
    uint32_t n = 0;
    for (const BlockId& id : t.second) n += read_one(reader, id);
    return n;
  });
  const bool went_on = other.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  {
    std::lock_guard lock(t.gate.mutex);
    t.gate.released = true;
  }
  t.gate.changed.notify_all();
  REQUIRE(went_on);
  CHECK(other.get() == t.second.size() * k_bs);
  CHECK(stuck.get() == k_bs);
}

TEST_CASE("block reader: a pack that failed to open is opened again by the next read",
          "[block_reader]") {
  TwoPacks t;
  BlockReader reader(*t.store, t.index);
  const std::string pack = t.pack_of(t.first.at(0));
  {
    std::lock_guard lock(t.gate.mutex);
    t.gate.failing = pack;
    t.gate.fail = true;
  }
  CHECK_THROWS_AS(read_one(reader, t.first.at(0)), Error);
  const int failed_opens = t.opens(pack);
  REQUIRE(failed_opens >= 1);
  {
    std::lock_guard lock(t.gate.mutex);
    t.gate.fail = false;
  }
  // Were the failed open's placeholder left behind, this read would wait for ever; the
  // bound only turns that into a failure.
  auto next = std::async(std::launch::async, [&] { return read_one(reader, t.first.at(1)); });
  REQUIRE(next.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  CHECK(next.get() == k_bs);
  CHECK(t.opens(pack) == failed_opens + 1);  // opened once more, and that open is kept
  CHECK(read_one(reader, t.first.at(2)) == k_bs);
  CHECK(t.opens(pack) == failed_opens + 1);
}
