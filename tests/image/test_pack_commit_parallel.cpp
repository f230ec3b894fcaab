// Packs committed by several threads at once (image/backup_committer.hpp, an object store's
// --connections): every segment names only packs whose commit had returned before the
// segment was written, the threads do commit side by side, and a backup through such a
// storage restores byte for byte. No timing: a latch that waits until N commits are under
// way at once (bounded by a generous deadline only so that a broken build fails, not hangs).
#include "image/backup.hpp"
#include "image/backup_committer.hpp"
#include "image/restore.hpp"
#include "image/storage_local.hpp"
#include "image/store.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"
#include "tests/storage_forward.hpp"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>

using namespace vssimg;
namespace fs = std::filesystem;

namespace {
constexpr uint32_t k_bs = 64 * 1024;

// What the storage saw: the packs whose commit returned, in order, and for every segment
// the packs committed when it was committed.
struct Journal {
  std::mutex mutex;
  std::condition_variable changed;
  std::set<std::string> committed;
  std::map<std::string, std::set<std::string>> committed_before_segment;
  size_t in_commit = 0;
  size_t most_in_commit = 0;
  size_t latch = 0;  // a pack commit waits until this many are under way (0: never)
};

class JournalWriter final : public ObjectWriter {
 public:
  JournalWriter(std::unique_ptr<ObjectWriter> inner, ObjectRef ref, Journal& j)
      : m_inner(std::move(inner)), m_ref(std::move(ref)), m_j(j) {}
  void append(const void* d, size_t n) override { m_inner->append(d, n); }
  uint64_t size() const override { return m_inner->size(); }
  void commit() override {
    if (m_ref.kind == ObjectKind::index) {
      std::lock_guard lock(m_j.mutex);
      m_j.committed_before_segment[m_ref.name] = m_j.committed;
    }
    if (m_ref.kind != ObjectKind::pack) return m_inner->commit();
    {
      std::unique_lock lock(m_j.mutex);
      m_j.most_in_commit = std::max(m_j.most_in_commit, ++m_j.in_commit);
      m_j.changed.notify_all();
      m_j.changed.wait_for(lock, std::chrono::seconds(60),
                           [&] { return m_j.latch == 0 || m_j.in_commit >= m_j.latch; });
      if (m_j.in_commit >= m_j.latch) m_j.latch = 0;  // reached once: let everything through
    }
    m_inner->commit();
    std::lock_guard lock(m_j.mutex);
    --m_j.in_commit;
    m_j.committed.insert(m_ref.name);
  }

 private:
  std::unique_ptr<ObjectWriter> m_inner;
  ObjectRef m_ref;
  Journal& m_j;
};

// A local store that says it takes `parallel` writes at once and journals commits.
class JournalStorage final : public test::ForwardingStorage {
 public:
  JournalStorage(const fs::path& root, unsigned parallel, Journal& j)
      : ForwardingStorage(LocalStorage::open_directory(root)), m_parallel(parallel), m_j(j) {}
  std::unique_ptr<ObjectWriter> create(const ObjectRef& r, WriteMode m) const override {
    return std::make_unique<JournalWriter>(inner().create(r, m), r, m_j);
  }
  unsigned parallel_writes() const override { return m_parallel; }

 private:
  unsigned m_parallel;
  Journal& m_j;
};

std::unique_ptr<PackWriter> one_block_pack(const Store& store, uint64_t seed) {
  auto pack = std::make_unique<PackWriter>(store.storage(), store.config().store_id);
  const auto data = test::pseudo_random(k_bs, seed);
  pack->add(store.hasher().hash(data.data(), data.size()), Codec::raw, data.data(), k_bs, k_bs);
  return pack;
}

void require_segments_after_their_packs(const Store& store, Journal& j) {
  std::lock_guard lock(j.mutex);
  REQUIRE_FALSE(j.committed_before_segment.empty());
  for (const auto& [name, before] : j.committed_before_segment) {
    const Segment seg = read_index_segment(store.storage(), name, store.config().store_id);
    for (const auto& p : seg.packs) REQUIRE(before.count(p.hex()) == 1);
  }
}
}  // namespace

TEST_CASE("pack committer, 4 threads: commits side by side; segments name only committed packs",
          "[committer]") {
  test::TempDir dir;
  Store::create(dir / "store", k_bs);
  Journal j;
  j.latch = 4;  // the first pack commit returns only once four are under way at once
  Store store(std::make_unique<JournalStorage>(dir / "store", 4, j));
  SegmentBatcher segments(store.storage(), store.config().store_id);
  std::set<std::string> ids;
  {
    PackCommitter committer(segments, 4, 4);
    for (uint64_t seed = 1; seed <= k_packs_per_segment * 2 + 3; ++seed) {
      auto pack = one_block_pack(store, seed);
      ids.insert(pack->id().hex());
      committer.submit(std::move(pack));
    }
    committer.drain();
    REQUIRE(committer.committed() == ids.size());
  }
  segments.flush();
  REQUIRE(j.most_in_commit == 4);
  REQUIRE(j.committed == ids);
  require_segments_after_their_packs(store, j);
  std::set<std::string> indexed;
  for (const auto& name : store.segments()) {
    for (const auto& p : read_index_segment(store.storage(), name, store.config().store_id).packs)
      indexed.insert(p.hex());
  }
  REQUIRE(indexed == ids);
}

TEST_CASE("pack committer, 1 thread: never more than one commit at a time", "[committer]") {
  test::TempDir dir;
  Store::create(dir / "store", k_bs);
  Journal j;
  Store store(std::make_unique<JournalStorage>(dir / "store", 1, j));
  SegmentBatcher segments(store.storage(), store.config().store_id);
  PackCommitter committer(segments, 2, 1);
  for (uint64_t seed = 1; seed <= 6; ++seed) committer.submit(one_block_pack(store, seed));
  committer.drain();
  REQUIRE(j.most_in_commit == 1);
  REQUIRE(j.committed.size() == 6);
}

TEST_CASE("backup through a storage of 3 parallel writes restores byte for byte",
          "[committer][backup]") {
  test::TempDir dir;
  Store::create(dir / "store", k_bs);
  Journal j;
  Store store(std::make_unique<JournalStorage>(dir / "store", 3, j));
  const auto bytes = test::pseudo_random(200 * k_bs, 11);
  test::MemorySource src(bytes, "vol");
  BackupOptions opts;
  opts.pack_target_size = 2 * k_bs;  // a hundred packs, more than one segment
  opts.threads = 2;
  const BackupResult r = run_backup(store, src, opts, null_progress());
  REQUIRE(j.committed.size() >= 90);
  require_segments_after_their_packs(store, j);
  Store again(dir / "store");
  const fs::path out = dir / "out.img";
  RestoreOptions ro;
  run_restore(again, r.point_id, out, ro, null_progress());
  REQUIRE(test::read_file(out) == bytes);
}
