// Commits a backup's full packs on a thread of their own (docs/format.md, "Commit order"),
// so that the pipeline goes on filling the next pack while one is flushed, renamed and
// its directory flushed. Used by PackSink (backup_sink.hpp) only.
#pragma once

#include "image/index.hpp"
#include "image/pack.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace vssimg {

// A bounded queue of full packs and the threads that commit them (one for a local store,
// one per connection for an object store, where PUTs run side by side). After a pack's
// commit returns it goes to the SegmentBatcher, so a segment (written by a committer
// thread, every k_packs_per_segment packs) names only packs that are already durable;
// packs committed in parallel may become durable in any order. The first error stops the
// committer: later packs are dropped with their temporary files, and the error
// (operation, object, cause) is thrown by the next submit or drain.
class PackCommitter {
 public:
  // `segments` is used by the committer threads until drain() or abandon() returns; the
  // caller touches it only after that. At most `max_in_flight` packs are queued or being
  // committed, by `threads` threads (at most max_in_flight).
  explicit PackCommitter(SegmentBatcher& segments, size_t max_in_flight = 2, size_t threads = 1);
  ~PackCommitter();
  PackCommitter(const PackCommitter&) = delete;
  PackCommitter& operator=(const PackCommitter&) = delete;

  // Queues a full pack for commit, waiting while `max_in_flight` packs are queued or being
  // committed. Throws the error of an earlier commit (the pack is dropped then).
  void submit(std::unique_ptr<PackWriter> pack);
  // Waits until every queued pack is committed and handed to the segments. Throws the
  // first commit error.
  void drain();
  // After a failure elsewhere: lets the committer finish what is queued (unless it
  // failed, then what is queued is dropped) and waits for it. Never throws.
  void settle() noexcept;
  // Packs committed so far.
  size_t committed() const;

 private:
  void loop();

  // Commits one pack and hands it to the segments; the error, if any.
  std::exception_ptr commit_one(PackWriter& pack);

  SegmentBatcher& m_segments;
  std::mutex m_segments_mutex;  // one committer thread at a time adds to m_segments
  const size_t m_max;
  const size_t m_thread_count;
  mutable std::mutex m_mutex;
  std::condition_variable m_changed;  // queue, busy, error or stop changed
  std::deque<std::unique_ptr<PackWriter>> m_queue;
  size_t m_busy = 0;  // packs being committed by the committer threads
  bool m_stop = false;
  std::exception_ptr m_error;
  size_t m_committed = 0;
  std::vector<std::thread> m_threads;  // started at the first submit
};

}  // namespace vssimg
