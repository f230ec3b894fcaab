#include "core/base/error.hpp"
#include "core/base/pipeline.hpp"
#include "tests/catch.hpp"

#include <atomic>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace vssimg;

namespace {
struct Job {
  uint64_t n = 0;
  uint64_t result = 0;
};

// What the consume stage saw, recorded on whatever thread consumed, checked after run():
// a Catch2 assertion on a worker thread is not thread-safe.
struct Consumed {
  std::mutex mutex;
  std::vector<uint64_t> order;
  std::vector<uint64_t> results;
  void record(const Job& j) {
    std::lock_guard lock(mutex);
    order.push_back(j.n);
    results.push_back(j.result);
  }
};

std::vector<uint64_t> iota_n(uint64_t n) {
  std::vector<uint64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}
}  // namespace

TEST_CASE("pipeline consumes in production order with bounded slots") {
  OrderedPipeline<Job> p(5, [] { return Job{}; });
  uint64_t next = 0;
  std::atomic<int> processed{0};
  Consumed seen;
  p.run(
      4,
      [&](Job& j) {
        if (next == 1000) return false;
        j.n = next++;
        return true;
      },
      [&](Job& j) {
        j.result = j.n * j.n;
        ++processed;
      },
      [&](Job& j) { seen.record(j); });
  REQUIRE(seen.order == iota_n(1000));
  for (uint64_t i = 0; i < 1000; ++i) REQUIRE(seen.results[i] == i * i);
  REQUIRE(processed == 1000);
}

TEST_CASE("pipeline propagates the first error from any stage") {
  OrderedPipeline<Job> p(3, [] { return Job{}; });
  uint64_t next = 0;
  auto produce = [&](Job& j) {
    j.n = next++;
    return next < 100000;
  };
  REQUIRE_THROWS_AS(p.run(
                        2, produce,
                        [](Job& j) {
                          if (j.n == 50) throw Error("x", "y", "z");
                        },
                        [](Job&) {}),
                    Error);
  next = 0;
  REQUIRE_THROWS_AS(p.run(
                        2, produce, [](Job&) {},
                        [](Job& j) {
                          if (j.n == 70) throw std::runtime_error("c");
                        }),
                    std::runtime_error);
  next = 0;
  REQUIRE_THROWS_AS(p.run(
                        2,
                        [&](Job& j) {
                          if (next == 10) throw Error("a", "b", "c");
                          j.n = next++;
                          return true;
                        },
                        [](Job&) {}, [](Job&) {}),
                    Error);
}

TEST_CASE("pipeline with no input") {
  OrderedPipeline<Job> p(2, [] { return Job{}; });
  int consumed = 0;
  p.run(
      2, [](Job&) { return false; }, [](Job&) {}, [&](Job&) { ++consumed; });
  REQUIRE(consumed == 0);
}

TEST_CASE("pipeline: workers consume one at a time, in order; one worker is the caller") {
  OrderedPipeline<Job> p(6, [] { return Job{}; });
  uint64_t next = 0;
  std::atomic<int> consuming{0};
  std::atomic<bool> overlap{false};
  Consumed seen;
  p.run(
      4,
      [&](Job& j) {
        if (next == 2000) return false;
        j.n = next++;
        return true;
      },
      [&](Job& j) {
        j.result = j.n + 1;
        if (j.n % 7 == 0) std::this_thread::yield();  // finish out of order
      },
      [&](Job& j) {
        if (consuming.fetch_add(1) != 0) overlap = true;
        seen.record(j);
        consuming.fetch_sub(1);
      });
  REQUIRE_FALSE(overlap);
  REQUIRE(seen.order == iota_n(2000));

  // One worker: processing and consuming both run on the calling thread.
  next = 0;
  uint64_t expect = 0;
  bool in_order = true;
  const auto caller = std::this_thread::get_id();
  bool elsewhere = false;
  p.run(
      1,
      [&](Job& j) {
        if (next == 100) return false;
        j.n = next++;
        return true;
      },
      [&](Job&) { elsewhere |= std::this_thread::get_id() != caller; },
      [&](Job& j) {
        elsewhere |= std::this_thread::get_id() != caller;
        in_order &= j.n == expect++;
      });
  REQUIRE_FALSE(elsewhere);
  REQUIRE(in_order);
  REQUIRE(expect == 100);
}

TEST_CASE("pipeline: a producer error keeps every job produced before it") {
  OrderedPipeline<Job> p(4, [] { return Job{}; });
  uint64_t next = 0;
  Consumed seen;
  REQUIRE_THROWS_AS(p.run(
                        3,
                        [&](Job& j) {
                          if (next == 37) throw Error("reading", "vol", "input/output error");
                          j.n = next++;
                          return true;
                        },
                        [](Job&) {}, [&](Job& j) { seen.record(j); }),
                    Error);
  REQUIRE(seen.order == iota_n(37));
}
