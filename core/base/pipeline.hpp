// An ordered parallel pipeline with bounded memory: one producer thread fills jobs in
// order, N workers process them in any order and consume them in the order they were
// produced (whichever worker finishes the next job in order consumes it). A fixed pool
// of `slots` jobs is recycled, so memory is bounded whatever the input size. An
// exception from processing or consuming stops all stages at once; an exception from
// the producer ends the input, the jobs already produced are still processed and
// consumed (so work done before it is kept), and then it is rethrown. run() rethrows
// the first exception.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vssimg {

// Sizes an OrderedPipeline within a memory budget. Jobs hold up to `max_units` units of
// `unit_bytes` (blocks with their buffers). Aims for 2 jobs per worker plus one being
// filled and one being consumed (so no worker waits while the producer reads the next
// job), shrinking jobs down to one unit, then the number of jobs down to 3, so memory
// stays under `budget` whatever the core count (unless one unit alone exceeds it).
struct PipelineShape {
  size_t slots = 0;
  size_t units_per_job = 0;
};
inline PipelineShape pipeline_shape(unsigned workers, size_t unit_bytes, size_t max_units,
                                    size_t budget) {
  PipelineShape shape;
  shape.slots = size_t{workers ? workers : 1} * 2 + 2;
  if (unit_bytes == 0) unit_bytes = 1;
  size_t units = budget / (shape.slots * unit_bytes);
  shape.units_per_job = units < 1 ? 1 : units > max_units ? max_units : units;
  if (max_units == 0) shape.units_per_job = 1;
  size_t fit = budget / (shape.units_per_job * unit_bytes);
  if (fit < shape.slots) shape.slots = fit < 3 ? 3 : fit;
  return shape;
}

template <class Job>
class OrderedPipeline {
 public:
  using Produce = std::function<bool(Job&)>;  // fill the job; false = no more input
  using Process = std::function<void(Job&)>;
  using Consume = std::function<void(Job&)>;

  // `make_job` builds each of the `slots` reusable jobs (e.g. with its buffer).
  OrderedPipeline(size_t slots, const std::function<Job()>& make_job) {
    m_jobs.reserve(slots);
    for (size_t i = 0; i < slots; ++i) m_jobs.push_back(make_job());
  }

  // Runs `workers` threads (the calling thread is one of them) and one producer thread.
  // There is no separate consumer thread: the worker that finishes the job that is next
  // in order consumes it, and every finished job after it, while no other worker is
  // consuming. So `workers` is the number of threads doing real work (with 1, the whole
  // pipeline runs on the calling thread, the producer aside), and a job is consumed
  // by the core whose cache still holds it. `produce` must stay cheap (hand out ranges,
  // hint read-ahead); reading belongs in `process`.
  void run(unsigned workers, const Produce& produce, const Process& process,
           const Consume& consume) {
    const size_t n = m_jobs.size();
    m_state.assign(n, State::free);
    m_seq.assign(n, 0);
    m_free.clear();
    m_work.clear();
    for (size_t i = 0; i < n; ++i) m_free.push_back(i);
    m_failed = false;
    m_error = nullptr;
    m_produced_all = false;
    m_produced = 0;
    m_consumed = 0;
    m_consuming = false;
    m_stop = false;
    if (workers == 0) workers = 1;

    m_producer_error = nullptr;
    std::thread producer([&] { producer_loop(produce); });
    std::vector<std::thread> pool;
    for (unsigned w = 1; w < workers; ++w)
      pool.emplace_back([&] { worker_loop(process, consume); });
    worker_loop(process, consume);
    for (auto& t : pool) t.join();
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;  // the producer may wait for a slot after a failure
    }
    m_cv.notify_all();
    producer.join();
    if (m_error) std::rethrow_exception(m_error);
    if (m_producer_error) std::rethrow_exception(m_producer_error);
  }

 private:
  enum class State { free, filling, queued, processing, done };

  void fail(std::exception_ptr e) {
    std::lock_guard lock(m_mutex);
    if (!m_failed) {
      m_failed = true;
      m_error = e;
    }
    m_cv.notify_all();
  }

  void producer_loop(const Produce& produce) {
    try {
      for (;;) {
        size_t slot;
        {
          std::unique_lock lock(m_mutex);
          m_cv.wait(lock, [&] { return m_failed || m_stop || !m_free.empty(); });
          if (m_failed || m_stop) break;
          slot = m_free.front();
          m_free.pop_front();
          m_state[slot] = State::filling;
        }
        bool more = produce(m_jobs[slot]);
        std::lock_guard lock(m_mutex);
        if (!more) {
          m_state[slot] = State::free;
          m_free.push_back(slot);
          break;
        }
        m_seq[slot] = m_produced++;
        m_state[slot] = State::queued;
        m_work.push_back(slot);
        m_cv.notify_all();
      }
    } catch (...) {
      std::lock_guard lock(m_mutex);
      m_producer_error = std::current_exception();
      for (size_t i = 0; i < m_state.size(); ++i) {
        if (m_state[i] == State::filling) {
          m_state[i] = State::free;
          m_free.push_back(i);
        }
      }
    }
    std::lock_guard lock(m_mutex);
    m_produced_all = true;
    m_cv.notify_all();
  }

  void worker_loop(const Process& process, const Consume& consume) {
    for (;;) {
      size_t slot;
      {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return m_failed || !m_work.empty() || m_produced_all; });
        if (m_failed || m_work.empty()) return;  // failed, or all input taken
        slot = m_work.front();
        m_work.pop_front();
        m_state[slot] = State::processing;
      }
      try {
        process(m_jobs[slot]);
      } catch (...) {
        fail(std::current_exception());
        return;
      }
      {
        std::lock_guard lock(m_mutex);
        m_state[slot] = State::done;
      }
      consume_ready(consume);
    }
  }

  // Consumes, in order, every finished job that is next, unless another worker is
  // already doing so (it re-checks under the lock before it stops, so none is missed).
  void consume_ready(const Consume& consume) {
    std::unique_lock lock(m_mutex);
    if (m_consuming) return;
    m_consuming = true;
    for (;;) {
      if (m_failed) break;
      size_t slot = SIZE_MAX;
      for (size_t i = 0; i < m_jobs.size(); ++i) {
        if (m_state[i] == State::done && m_seq[i] == m_consumed) {
          slot = i;
          break;
        }
      }
      if (slot == SIZE_MAX) break;
      lock.unlock();
      try {
        consume(m_jobs[slot]);
      } catch (...) {
        lock.lock();
        m_consuming = false;
        lock.unlock();
        fail(std::current_exception());
        return;
      }
      lock.lock();
      ++m_consumed;
      m_state[slot] = State::free;
      m_free.push_back(slot);
      m_cv.notify_all();
    }
    m_consuming = false;
  }

  std::vector<Job> m_jobs;
  std::vector<State> m_state;
  std::vector<uint64_t> m_seq;
  std::deque<size_t> m_free;
  std::deque<size_t> m_work;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_failed = false;
  bool m_stop = false;
  bool m_produced_all = false;
  bool m_consuming = false;
  uint64_t m_produced = 0;
  uint64_t m_consumed = 0;
  std::exception_ptr m_error;
  std::exception_ptr m_producer_error;
};

}  // namespace vssimg
