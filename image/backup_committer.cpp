#include "image/backup_committer.hpp"

#include <algorithm>
#include <utility>

namespace vssimg {

PackCommitter::PackCommitter(SegmentBatcher& segments, size_t max_in_flight, size_t threads)
    : m_segments(segments),
      m_max(max_in_flight ? max_in_flight : 1),
      m_thread_count(std::clamp<size_t>(threads, 1, m_max)) {}

PackCommitter::~PackCommitter() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_changed.notify_all();
  for (auto& t : m_threads) t.join();
  // What is still queued was never committed: its temporary files go with the writers.
}

void PackCommitter::submit(std::unique_ptr<PackWriter> pack) {
  std::unique_lock lock(m_mutex);
  while (m_threads.size() < m_thread_count) m_threads.emplace_back([this] { loop(); });
  m_changed.wait(lock, [&] { return m_error || m_queue.size() + m_busy < m_max; });
  if (m_error) std::rethrow_exception(m_error);
  m_queue.push_back(std::move(pack));
  lock.unlock();
  m_changed.notify_all();
}

void PackCommitter::drain() {
  std::unique_lock lock(m_mutex);
  // After a failure the committer drops what is queued, so this ends either way.
  m_changed.wait(lock, [&] { return m_queue.empty() && m_busy == 0; });
  if (m_error) std::rethrow_exception(m_error);
}

void PackCommitter::settle() noexcept {
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [&] { return m_queue.empty() && m_busy == 0; });
}

size_t PackCommitter::committed() const {
  std::lock_guard lock(m_mutex);
  return m_committed;
}

void PackCommitter::loop() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_changed.wait(lock, [&] { return m_stop || !m_queue.empty(); });
    if (m_stop) return;
    std::unique_ptr<PackWriter> pack = std::move(m_queue.front());
    m_queue.pop_front();
    if (m_error) {
      lock.unlock();
      pack.reset();  // after a failure nothing more is committed: drop its temporary file
      lock.lock();
      m_changed.notify_all();
      continue;
    }
    ++m_busy;
    lock.unlock();
    std::exception_ptr error = commit_one(*pack);
    pack.reset();
    lock.lock();
    --m_busy;
    if (error && !m_error) m_error = error;
    if (!error) ++m_committed;
    m_changed.notify_all();
  }
}

std::exception_ptr PackCommitter::commit_one(PackWriter& pack) {
  try {
    auto entries = pack.commit();  // durable and visible on return
    std::lock_guard lock(m_segments_mutex);
    m_segments.add(pack.id(), std::move(entries));
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;
}

}  // namespace vssimg
