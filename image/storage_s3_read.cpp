#include "image/storage_s3_read.hpp"

#include "core/base/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace vssimg::s3 {

std::string get_range(const Client& client, const std::string& key, const std::string& name,
                      uint64_t offset, size_t len, std::string* into) {
  if (len == 0) return {};
  const uint64_t last = offset + len - 1;
  Request req{"GET", key, {}, {{"range", fmt::format("bytes={}-{}", offset, last)}}};
  req.into = into;
  Response r = client.send(req, "reading");
  if (r.status != 206 && r.status != 200) throw_response(r, "reading", name);
  std::string body = std::move(r.body);
  if (r.status == 200)  // the whole object: the server ignored the range
    body.erase(0, static_cast<size_t>(std::min<uint64_t>(offset, body.size())));
  if (body.size() > len) body.resize(len);
  return body;
}

WindowPlan::WindowPlan(uint64_t object_size, uint64_t window)
    : m_size(object_size),
      m_window(window),
      m_count((object_size + window - 1) / window),
      m_touched(static_cast<size_t>(m_count), false) {}

std::pair<uint64_t, uint64_t> WindowPlan::span(uint64_t offset, size_t len) const {
  const uint64_t end = std::min<uint64_t>(offset + len, m_size);
  return {offset / m_window, (end - 1) / m_window};
}

std::pair<uint64_t, uint64_t> WindowPlan::bounds(uint64_t w) const {
  return {w * m_window, std::min<uint64_t>((w + 1) * m_window, m_size)};
}

bool WindowPlan::note_read(uint64_t offset, size_t len) {
  const auto [w0, w1] = span(offset, len);
  const bool use = len < m_window && (m_touched[w0] || (w0 > 0 && m_touched[w0 - 1]));
  for (uint64_t w = w0; w <= w1; ++w) m_touched[w] = true;
  return use;
}

void WindowPlan::note_need(uint64_t w0, uint64_t w1) {
  for (uint64_t w = w0; w <= w1 && w < m_count; ++w) m_touched[w] = true;
}

ReadCache::ReadCache(const Client& client, unsigned connections)
    : m_client(client),
      m_connections(std::max(1u, connections)),
      m_max_windows(2 * size_t{m_connections} + 4),
      m_free(m_max_windows + m_connections) {}

ReadCache::~ReadCache() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
    m_tasks.clear();
  }
  m_changed.notify_all();
  for (auto& t : m_threads) t.join();
}

std::shared_ptr<const std::string> ReadCache::get(const std::string& key, const std::string& name,
                                                  std::pair<uint64_t, uint64_t> bounds,
                                                  uint64_t w) {
  const Key k{key, w};
  std::unique_lock lock(m_mutex);
  for (auto it = m_windows.find(k); it != m_windows.end(); it = m_windows.find(k)) {
    if (it->second.bytes) {
      it->second.used = ++m_clock;
      return it->second.bytes;
    }
    m_changed.wait(lock);  // a read ahead of it is under way
  }
  m_windows.emplace(k, Window{});
  lock.unlock();
  std::shared_ptr<const std::string> bytes;
  try {
    bytes = fetch(key, name, bounds);
  } catch (...) {
    lock.lock();
    m_windows.erase(k);
    m_changed.notify_all();
    throw;
  }
  lock.lock();
  store(k, bytes);
  m_changed.notify_all();
  return bytes;
}

std::shared_ptr<const std::string> ReadCache::fetch(const std::string& key, const std::string& name,
                                                    std::pair<uint64_t, uint64_t> bounds) {
  std::string buffer = m_free.take();
  auto* bytes =
      new std::string(get_range(m_client, key, name, bounds.first,
                                static_cast<size_t>(bounds.second - bounds.first), &buffer));
  return std::shared_ptr<const std::string>(bytes, [this](const std::string* b) {
    std::unique_ptr<std::string> owned(const_cast<std::string*>(b));
    m_free.give(std::move(*owned));
  });
}

void ReadCache::store(const Key& k, std::shared_ptr<const std::string> bytes) {
  Window& win = m_windows[k];
  win.bytes = std::move(bytes);
  win.used = ++m_clock;
  size_t ready = 0;
  for (const auto& [key, w] : m_windows) ready += w.bytes ? 1 : 0;
  while (ready > m_max_windows) {
    auto oldest = m_windows.end();
    for (auto it = m_windows.begin(); it != m_windows.end(); ++it) {
      if (it->second.bytes && it->first != k &&
          (oldest == m_windows.end() || it->second.used < oldest->second.used))
        oldest = it;
    }
    if (oldest == m_windows.end()) break;
    m_windows.erase(oldest);
    --ready;
  }
}

void ReadCache::ahead(const std::string& key, const std::string& name,
                      const std::vector<std::pair<uint64_t, std::pair<uint64_t, uint64_t>>>& ws) {
  {
    std::lock_guard lock(m_mutex);
    if (m_stop) return;
    while (m_threads.size() < m_connections) m_threads.emplace_back([this] { loop(); });
    for (const auto& window : ws) {
      // Not a structured binding: clang before 16 cannot capture one in the lambda below.
      const auto& w = window.first;
      const auto& bounds = window.second;
      if (m_tasks.size() >= 2 * size_t{m_connections}) break;
      if (m_windows.count(Key{key, w})) continue;
      const bool queued = std::any_of(m_tasks.begin(), m_tasks.end(),
                                      [&](const Task& t) { return t.w == w && t.key == key; });
      if (!queued) m_tasks.push_back(Task{key, name, w, bounds});
    }
  }
  m_changed.notify_all();
}

void ReadCache::loop() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_changed.wait(lock, [&] { return m_stop || !m_tasks.empty(); });
    if (m_stop) return;
    const Task t = std::move(m_tasks.front());
    m_tasks.pop_front();
    const Key k{t.key, t.w};
    if (m_windows.count(k)) continue;
    m_windows.emplace(k, Window{});
    lock.unlock();
    std::shared_ptr<const std::string> bytes;
    try {
      bytes = fetch(t.key, t.name, t.bounds);
    } catch (...) {
      // Forgotten: a reader that needs the window fetches it and reports what is wrong.
    }
    lock.lock();
    if (bytes)
      store(k, std::move(bytes));
    else
      m_windows.erase(k);
    m_changed.notify_all();
  }
}

S3Reader::S3Reader(const Client& client, std::string key, uint64_t size, ReadCache* cache)
    : m_client(client),
      m_key(std::move(key)),
      m_size(size),
      m_name(client.describe(m_key)),
      m_cache(cache),
      m_plan(size, ReadCache::k_window) {}

size_t S3Reader::read_at(void* buf, size_t len, uint64_t offset) const {
  if (offset >= m_size || len == 0) return 0;
  len = static_cast<size_t>(std::min<uint64_t>(len, m_size - offset));
  if (m_cache) {
    bool windows = false;
    {
      std::lock_guard lock(m_mutex);
      windows = m_plan.note_read(offset, len);
    }
    if (windows) return read_windows(static_cast<uint8_t*>(buf), len, offset);
    // The first read of a pack (its header): the first window is wanted next.
    if (offset == 0) m_cache->ahead(m_key, m_name, {{0, m_plan.bounds(0)}});
  }
  const std::string bytes = get_range(m_client, m_key, m_name, offset, len);
  std::memcpy(buf, bytes.data(), bytes.size());
  return bytes.size();
}

void S3Reader::will_need(uint64_t offset, size_t len) const {
  if (!m_cache || offset >= m_size || len == 0) return;
  len = static_cast<size_t>(std::min<uint64_t>(len, m_size - offset));
  const auto [w0, w1] = m_plan.span(offset, len);
  std::vector<std::pair<uint64_t, std::pair<uint64_t, uint64_t>>> ws;
  {
    std::lock_guard lock(m_mutex);
    m_plan.note_need(w0, w1);
  }
  for (uint64_t w = w0; w <= w1 && ws.size() < m_cache->depth(); ++w)
    ws.emplace_back(w, m_plan.bounds(w));
  m_cache->ahead(m_key, m_name, ws);
}

size_t S3Reader::read_windows(uint8_t* buf, size_t len, uint64_t offset) const {
  const auto [w0, w1] = m_plan.span(offset, len);
  std::vector<std::pair<uint64_t, std::pair<uint64_t, uint64_t>>> next;
  for (uint64_t w = w1 + 1; w < m_plan.windows() && w <= w1 + m_cache->depth(); ++w)
    next.emplace_back(w, m_plan.bounds(w));
  if (!next.empty()) m_cache->ahead(m_key, m_name, next);
  size_t done = 0;
  for (uint64_t w = w0; w <= w1; ++w) {
    const auto bounds = m_plan.bounds(w);
    const auto bytes = m_cache->get(m_key, m_name, bounds, w);
    const uint64_t from = std::max(offset, bounds.first);
    const uint64_t upto = std::min<uint64_t>(offset + len, bounds.second);
    const size_t at = static_cast<size_t>(from - bounds.first);
    if (bytes->size() < at + (upto - from)) {  // the object is shorter than its HEAD said
      const size_t k = bytes->size() > at ? bytes->size() - at : 0;
      std::memcpy(buf + done, bytes->data() + at, k);
      return done + k;
    }
    std::memcpy(buf + done, bytes->data() + at, static_cast<size_t>(upto - from));
    done += static_cast<size_t>(upto - from);
  }
  return done;
}

}  // namespace vssimg::s3
