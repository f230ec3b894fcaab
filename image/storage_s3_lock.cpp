// Locks on an object store, where there are no OS locks (docs/format.md, "Locks on object
// storage"): each holder writes a lock object locks/<host>-<pid>.info with its mode,
// rewrites it every k_refresh_seconds while it runs, and removes it when done. A lock
// object not refreshed for k_stale_seconds is stale (its holder died) and ignored. A new
// holder checks the others, writes its own, re-checks, and withdraws (store_locked) when a
// conflicting holder appeared meanwhile. Where a listing may lag a write by up to
// k_visible_ms, a holder with an exclusive part waits twice that before its re-check; a
// shared-only holder, which only conflicts with those, re-checks at once (docs/format.md
// says why no two conflicting holders can then both proceed).
#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "image/lock.hpp"
#include "image/storage_s3.hpp"

#include <fmt/format.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace vssimg {

namespace {

constexpr int64_t k_refresh_seconds = 120;
constexpr int64_t k_stale_seconds = 900;
constexpr int k_visible_ms = 500;  // assumed bound of a listing's lag behind a write
constexpr uint64_t k_max_info = 4096;

struct Holder {
  LockHolder who;
  bool exclusive = false;
  WriterLock writer = WriterLock::none;
  int64_t refreshed = 0;
};

std::string value_of(const std::string& text, const std::string& key) {
  const std::string k = "\n" + key + "=";
  const std::string t = "\n" + text;
  const size_t at = t.find(k);
  if (at == std::string::npos) return {};
  const size_t end = t.find('\n', at + k.size());
  return t.substr(at + k.size(), end == std::string::npos ? end : end - at - k.size());
}

const char* writer_name(WriterLock w) {
  return w == WriterLock::exclusive ? "exclusive" : w == WriterLock::shared ? "shared" : "none";
}

// The writer locks conflict when either is exclusive and both are held.
bool writers_conflict(WriterLock mine, const std::string& other) {
  if (mine == WriterLock::none || other == "none" || other.empty()) return false;
  return mine == WriterLock::exclusive || other == "exclusive";
}

std::string encode(const Holder& h) {
  return encode_lock_info(h.who) + fmt::format("mode={}\nwriter={}\nrefreshed={}\n",
                                               h.exclusive ? "exclusive" : "shared",
                                               writer_name(h.writer), h.refreshed);
}

// The live holders other than `me` that conflict with taking (`exclusive`, `writer`).
bool conflicts(const S3Storage& s, const std::string& me, bool exclusive, WriterLock writer) {
  const int64_t now = now_unix();
  for (const auto& name : s.list(ObjectKind::lock)) {
    if (name == me) continue;
    std::string text;
    try {
      auto bytes = s.read_all(ObjectRef{ObjectKind::lock, name}, k_max_info);
      text.assign(bytes.begin(), bytes.end());
    } catch (const Error&) {
      continue;  // removed meanwhile
    }
    const int64_t refreshed = std::strtoll(value_of(text, "refreshed").c_str(), nullptr, 10);
    if (now - refreshed > k_stale_seconds) continue;
    const LockHolder who = decode_lock_info(text, name);
    if (who.host == host_name() && who.pid != process_id() && !process_alive(who.pid)) {
      s.remove(ObjectRef{ObjectKind::lock, name});  // killed on this host: stale at once
      continue;
    }
    const bool other_exclusive = value_of(text, "mode") != "shared";
    if (exclusive || other_exclusive || writers_conflict(writer, value_of(text, "writer")))
      return true;
  }
  return false;
}

class S3Lock final : public StorageLock {
 public:
  S3Lock(const S3Storage& s, Holder h) : m_storage(s), m_holder(std::move(h)) {
    m_name = lock_info_name(m_holder.who);
    write();
    m_thread = std::thread([this] { refresh_loop(); });
  }
  ~S3Lock() override {
    {
      std::lock_guard<std::mutex> g(m_mutex);
      m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
    try {
      m_storage.remove(ObjectRef{ObjectKind::lock, m_name});
    } catch (const Error&) {
      // it goes stale by itself
    }
  }
  const std::string& name() const { return m_name; }

 private:
  void write() {
    m_holder.refreshed = now_unix();
    const std::string text = encode(m_holder);
    m_storage.put(m_storage.key_of(ObjectRef{ObjectKind::lock, m_name}), text.data(), text.size(),
                  false);
  }
  void refresh_loop() {
    std::unique_lock<std::mutex> g(m_mutex);
    while (!m_cv.wait_for(g, std::chrono::seconds(k_refresh_seconds), [this] { return m_stop; })) {
      try {
        write();
      } catch (const Error&) {
        // retried at the next refresh; stale only after k_stale_seconds
      }
    }
  }

  const S3Storage& m_storage;
  Holder m_holder;
  std::string m_name;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stop = false;
  std::thread m_thread;
};

}  // namespace

std::unique_ptr<StorageLock> S3Storage::lock(LockMode mode, WriterLock writer,
                                             const std::string& command, bool read_only_ok) const {
  const bool exclusive = mode == LockMode::exclusive;
  Holder me{this_process(command), exclusive, writer, 0};
  const std::string name = lock_info_name(me.who);
  if (conflicts(*this, name, exclusive, writer)) throw_store_locked(*this);
  std::unique_ptr<S3Lock> held;
  try {
    held = std::make_unique<S3Lock>(*this, me);
  } catch (const Error& e) {
    // Credentials that may read but not write: a reader goes on without a lock.
    if (e.kind() == ErrorKind::privilege && read_only_ok) return nullptr;
    throw;
  }
  if (exclusive || writer == WriterLock::exclusive)
    std::this_thread::sleep_for(std::chrono::milliseconds(2 * k_visible_ms));
  if (conflicts(*this, name, exclusive, writer)) {
    held.reset();  // withdraw: both racers may back off, neither proceeds wrongly
    throw_store_locked(*this);
  }
  return held;
}

}  // namespace vssimg
