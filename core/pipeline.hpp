// An ordered parallel pipeline with bounded memory: one producer thread fills jobs in
// order, N workers process them in any order, and the calling thread consumes them in
// the order they were produced. A fixed pool of `slots` jobs is recycled, so memory is
// bounded whatever the input size. An exception from a worker or the consumer stops
// all stages at once; an exception from the producer ends the input, the jobs already
// produced are still processed and consumed (so work done before a read error is kept),
// and then it is rethrown. run() rethrows the first exception.
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
    if (workers == 0) workers = 1;

    m_producer_error = nullptr;
    std::thread producer([&] { producer_loop(produce); });
    std::vector<std::thread> pool;
    for (unsigned w = 0; w < workers; ++w) pool.emplace_back([&] { worker_loop(process); });
    consumer_loop(consume);
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_cv.notify_all();
    producer.join();
    for (auto& t : pool) t.join();
    m_stop = false;
    if (m_error) std::rethrow_exception(m_error);
    if (m_producer_error) std::rethrow_exception(m_producer_error);
  }

 private:
  enum class State { free, filling, queued, done };

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
          if (m_failed || m_stop) return;
          slot = m_free.front();
          m_free.pop_front();
          m_state[slot] = State::filling;
        }
        bool more = produce(m_jobs[slot]);
        std::lock_guard lock(m_mutex);
        if (!more) {
          m_state[slot] = State::free;
          m_free.push_back(slot);
          m_produced_all = true;
          m_cv.notify_all();
          return;
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
      m_produced_all = true;
      m_cv.notify_all();
    }
  }

  void worker_loop(const Process& process) {
    try {
      for (;;) {
        size_t slot;
        {
          std::unique_lock lock(m_mutex);
          m_cv.wait(lock, [&] { return m_failed || m_stop || !m_work.empty(); });
          if (m_failed || (m_stop && m_work.empty())) return;
          slot = m_work.front();
          m_work.pop_front();
        }
        process(m_jobs[slot]);
        std::lock_guard lock(m_mutex);
        m_state[slot] = State::done;
        m_cv.notify_all();
      }
    } catch (...) {
      fail(std::current_exception());
    }
  }

  void consumer_loop(const Consume& consume) {
    uint64_t next = 0;
    for (;;) {
      size_t slot = SIZE_MAX;
      {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] {
          if (m_failed) return true;
          if (m_produced_all && next == m_produced) return true;
          for (size_t i = 0; i < m_jobs.size(); ++i) {
            if (m_state[i] == State::done && m_seq[i] == next) {
              slot = i;
              return true;
            }
          }
          return false;
        });
        if (m_failed || slot == SIZE_MAX) return;
      }
      try {
        consume(m_jobs[slot]);
      } catch (...) {
        fail(std::current_exception());
        return;
      }
      ++next;
      std::lock_guard lock(m_mutex);
      m_state[slot] = State::free;
      m_free.push_back(slot);
      m_cv.notify_all();
    }
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
  uint64_t m_produced = 0;
  std::exception_ptr m_error;
  std::exception_ptr m_producer_error;
};

}  // namespace vssimg
