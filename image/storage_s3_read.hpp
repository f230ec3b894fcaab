// Reading objects of an S3 store: ranged GETs, and for packs read record by record front
// to back (restore, export, copy: the block reader) a read-ahead cache of windows fetched
// by a few threads in parallel, so a restore makes one GET per window instead of one per
// block record, and the next windows are on their way while this one is decoded
// (docs/format.md, "Object storage"). Used by S3Storage (storage_s3.cpp) only.
#pragma once

#include "core/base/free_list.hpp"
#include "image/storage.hpp"
#include "image/storage_s3_http.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace vssimg::s3 {

// Bytes [offset, offset + len) of `key` (clipped to the object by the server), by one
// ranged GET; throws Error naming `name` when the answer is not the range.
// `into` (may be null): a buffer whose room the answer reuses.
std::string get_range(const Client& client, const std::string& key, const std::string& name,
                      uint64_t offset, size_t len, std::string* into = nullptr);

// Which windows of an object a read covers, and whether a reader reads it front to back:
// a read goes through the cache once the reader has read in the same or the window before
// (so a reader jumping around, like mount, makes exact GETs). Pure logic, unit-tested.
class WindowPlan {
 public:
  WindowPlan(uint64_t object_size, uint64_t window);
  uint64_t window() const { return m_window; }
  uint64_t windows() const { return m_count; }
  // The first and last window of [offset, offset + len); len > 0, offset < size.
  std::pair<uint64_t, uint64_t> span(uint64_t offset, size_t len) const;
  // Records a read of [offset, offset + len) and says whether it should use windows.
  // Reads as long as a window never do.
  bool note_read(uint64_t offset, size_t len);
  // Records that windows [w0, w1] will be read (a hint): reads there use windows.
  void note_need(uint64_t w0, uint64_t w1);
  // The [start, end) bytes of window `w`.
  std::pair<uint64_t, uint64_t> bounds(uint64_t w) const;

 private:
  uint64_t m_size;
  uint64_t m_window;
  uint64_t m_count;
  std::vector<bool> m_touched;
};

// Windows of pack objects shared by every reader of one storage, at most `max_windows`
// of them kept (least recently used dropped), fetched on demand or ahead by `connections`
// threads. A failed read ahead is forgotten (the reader then fetches, and reports, itself).
class ReadCache {
 public:
  static constexpr uint64_t k_window = 4u << 20;

  ReadCache(const Client& client, unsigned connections);
  ~ReadCache();
  ReadCache(const ReadCache&) = delete;
  ReadCache& operator=(const ReadCache&) = delete;

  // Window `w` of `key` (bytes [start, end) of the object): from the cache, waiting for a
  // read ahead of it under way, or fetched here.
  std::shared_ptr<const std::string> get(const std::string& key, const std::string& name,
                                         std::pair<uint64_t, uint64_t> bounds, uint64_t w);
  // Queues reads ahead of windows `ws` of `key` not cached or under way.
  void ahead(const std::string& key, const std::string& name,
             const std::vector<std::pair<uint64_t, std::pair<uint64_t, uint64_t>>>& ws);
  unsigned depth() const { return m_connections; }

 private:
  struct Window {
    std::shared_ptr<const std::string> bytes;  // null while under way
    uint64_t used = 0;                         // m_clock at the last use
  };
  struct Task {
    std::string key, name;
    uint64_t w;
    std::pair<uint64_t, uint64_t> bounds;
  };
  using Key = std::pair<std::string, uint64_t>;
  void loop();
  // With the lock held: a fetched window into the cache; drops the least recently used.
  void store(const Key& k, std::shared_ptr<const std::string> bytes);
  // Fetches a window into a buffer from m_free; the window's last owner gives the buffer
  // back (at most m_max_windows + m_connections are kept).
  std::shared_ptr<const std::string> fetch(const std::string& key, const std::string& name,
                                           std::pair<uint64_t, uint64_t> bounds);

  const Client& m_client;
  const unsigned m_connections;
  const size_t m_max_windows;
  // Buffers of dropped windows for the next fetches; declared before m_windows, so it
  // outlives the windows that give their buffers back when they are destroyed.
  FreeList<std::string> m_free;
  std::mutex m_mutex;
  std::condition_variable m_changed;  // a window arrived or was dropped, a task was queued
  std::map<Key, Window> m_windows;
  std::deque<Task> m_tasks;
  uint64_t m_clock = 0;
  bool m_stop = false;
  std::vector<std::thread> m_threads;  // started at the first read ahead
};

// Ranged GETs of one object of a size known from its HEAD, through `cache` when given.
class S3Reader final : public ObjectReader {
 public:
  S3Reader(const Client& client, std::string key, uint64_t size, ReadCache* cache);
  uint64_t size() const override { return m_size; }
  const std::string& name() const override { return m_name; }
  size_t read_at(void* buf, size_t len, uint64_t offset) const override;
  // Fetches the windows of the range ahead (a restore's producer names the records its next
  // job reads); later reads there use the windows.
  void will_need(uint64_t offset, size_t len) const override;

 private:
  size_t read_windows(uint8_t* buf, size_t len, uint64_t offset) const;

  const Client& m_client;
  std::string m_key;
  uint64_t m_size;
  std::string m_name;
  ReadCache* m_cache;
  mutable std::mutex m_mutex;  // guards m_plan
  mutable WindowPlan m_plan;
};

}  // namespace vssimg::s3
