// BlockReader's success path allocates nothing (it runs once per block of a restore,
// export or verify): counted with a replaced global operator new, counting only on the
// thread and in the scope a test turns it on. Not on Windows: there the C++ runtime may be
// a DLL whose allocations a replaced operator new in the executable does not see.
#if !defined(_WIN32)

#include "image/backup.hpp"
#include "image/block_reader.hpp"
#include "image/damage.hpp"
#include "image/point_source.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <array>
#include <cstdlib>
#include <new>
#include <vector>

namespace {
thread_local bool t_counting = false;
thread_local size_t t_allocations = 0;

void* counted_alloc(std::size_t n) {
  if (t_counting) ++t_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}

// Counts the allocations `f` makes on this thread.
template <class F>
size_t allocations_of(F&& f) {
  t_allocations = 0;
  t_counting = true;
  f();
  t_counting = false;
  return t_allocations;
}
}  // namespace

void* operator new(std::size_t n) {
  return counted_alloc(n);
}
void* operator new[](std::size_t n) {
  return counted_alloc(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
// The nothrow forms too (std::stable_sort's temporary buffer uses them): a replaced
// operator delete frees with free(), so every form of new must come from malloc().
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (t_counting) ++t_allocations;
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  if (t_counting) ++t_allocations;
  return std::malloc(n ? n : 1);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

using namespace vssimg;

namespace {
constexpr uint32_t k_bs = 64 * 1024;
}

TEST_CASE("block reader: reading intact blocks allocates nothing", "[block_reader]") {
  test::TempDir dir;
  Store::create(dir / "store", k_bs);
  Store store(dir / "store");
  const auto data = test::pseudo_random(16 * k_bs, 11);
  test::MemorySource src(data, "vol");
  auto r = run_backup(store, src, BackupOptions{}, null_progress());
  const Point p = store.load_point(r.point_id);
  const BlockIndex index = store.load_index(nullptr);
  // A damage record that lists another copy: the lookup in it allocates nothing either.
  DamageSet known;
  BlockId other;
  other.bytes[0] = 1;
  known.add_copy(other, index.packs().at(0), 4096, 1);
  const std::array<const DamageSet*, 2> records{nullptr, &known};
  for (const DamageSet* k : records) {
    BlockReader reader(store, index, k);
    std::vector<uint8_t> out(k_bs), scratch;
    uint32_t stored = 0;
    for (const BlockId& id : p.map) reader.read(id, out.data(), scratch, &stored);  // packs open
    size_t ok = 0;
    const size_t n = allocations_of([&] {
      for (size_t i = 0; i < p.map.size(); ++i) {
        ok += reader.read(p.map[i], out.data(), scratch, &stored) == k_bs &&
              std::equal(out.begin(), out.end(), data.begin() + i * k_bs);
      }
    });
    CHECK(ok == p.map.size());
    CHECK(n == 0);
    CHECK(reader.fallbacks() == 0);
    CHECK(reader.found_damage().empty());
  }
}

TEST_CASE("point source: reading cached and evicted blocks reuses its buffers", "[block_reader]") {
  test::TempDir dir;
  Store::create(dir / "store", k_bs);
  Store store(dir / "store");
  const auto data = test::pseudo_random(16 * k_bs, 12);
  test::MemorySource src(data, "vol");
  auto r = run_backup(store, src, BackupOptions{}, null_progress());
  PointSource point(store, store.load_point(r.point_id), 4);
  std::vector<uint8_t> out(data.size());
  point.read_at(out.data(), out.size(), 0);  // fills the cache, opens the packs
  // A second pass evicts every block again: the evicted buffers are decoded into.
  // (The cache's own list and map nodes are the only allocations: two per block.)
  const size_t n = allocations_of([&] { point.read_at(out.data(), out.size(), 0); });
  CHECK(std::equal(out.begin(), out.end(), data.begin()));
  CHECK(n <= 2 * 16);
}

#endif  // !_WIN32
