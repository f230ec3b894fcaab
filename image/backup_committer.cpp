#include "image/backup_committer.hpp"

#include <utility>

namespace vssimg {

PackCommitter::PackCommitter(SegmentBatcher& segments, size_t max_in_flight)
    : m_segments(segments), m_max(max_in_flight ? max_in_flight : 1) {}

PackCommitter::~PackCommitter() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_changed.notify_all();
  if (m_thread.joinable()) m_thread.join();
  // What is still queued was never committed: its temporary files go with the writers.
}

void PackCommitter::submit(std::unique_ptr<PackWriter> pack) {
  std::unique_lock lock(m_mutex);
  if (!m_thread.joinable()) m_thread = std::thread([this] { loop(); });
  m_changed.wait(lock, [&] { return m_error || m_queue.size() + (m_busy ? 1 : 0) < m_max; });
  if (m_error) std::rethrow_exception(m_error);
  m_queue.push_back(std::move(pack));
  lock.unlock();
  m_changed.notify_all();
}

void PackCommitter::drain() {
  std::unique_lock lock(m_mutex);
  // After a failure the committer drops what is queued, so this ends either way.
  m_changed.wait(lock, [&] { return m_queue.empty() && !m_busy; });
  if (m_error) std::rethrow_exception(m_error);
}

void PackCommitter::settle() noexcept {
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [&] { return m_queue.empty() && !m_busy; });
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
    m_busy = true;
    lock.unlock();
    std::exception_ptr error;
    try {
      auto entries = pack->commit();  // durable and visible on return
      m_segments.add(pack->id(), std::move(entries));
    } catch (...) {
      error = std::current_exception();
    }
    pack.reset();
    lock.lock();
    m_busy = false;
    if (error && !m_error) m_error = error;
    if (!error) ++m_committed;
    m_changed.notify_all();
  }
}

}  // namespace vssimg
