#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "image/lock.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <sstream>
#include <thread>

namespace vssimg {

namespace {
constexpr uint64_t k_max_info_size = 4096;

// Stale: this host's process that wrote it is gone (an info of another host is never
// judged stale: its pid means nothing here).
bool is_stale(const LockHolder& h, const std::string& me) {
  return h.host == me && h.pid != process_id() && !process_alive(h.pid);
}
}  // namespace

StoreLock::StoreLock(const Storage& storage, LockMode mode, WriterLock writer,
                     const std::string& command, const LockOptions& options) {
  const double deadline = monotonic_seconds() + options.wait_seconds;
  for (bool noted = false;; noted = true) {
    try {
      m_lock = storage.lock(mode, writer, command, options.read_only_ok);
      break;
    } catch (const Error& e) {
      const double left = deadline - monotonic_seconds();
      if (e.kind() != ErrorKind::store_locked || left <= 0) throw;
      if (!noted && options.note) {
        options.note(fmt::format("waiting up to {:.0f} s for the store lock ({}; --lock-wait)",
                                 options.wait_seconds, e.cause()));
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(left, 0.5)));
      check_interrupted();
    }
  }
  if (!m_lock && options.note) {
    options.note(fmt::format(
        "store {} is read-only for this user: {} takes no lock and writes nothing there",
        storage.location(), command));
  }
}

LockHolder this_process(const std::string& command) {
  return LockHolder{command, host_name(), process_id(), now_unix()};
}

std::string encode_lock_info(const LockHolder& h) {
  return fmt::format("command={}\nhost={}\npid={}\nstarted={}\n", h.command, h.host, h.pid,
                     h.started);
}

std::string lock_info_name(const LockHolder& h) {
  return fmt::format("{}-{}", h.host, h.pid);
}

LockHolder decode_lock_info(const std::string& text, const std::string& name) {
  LockHolder h;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "command") h.command = v;
    if (k == "host") h.host = v;
    if (k == "pid") h.pid = std::strtoull(v.c_str(), nullptr, 10);
    if (k == "started") h.started = std::strtoll(v.c_str(), nullptr, 10);
  }
  if (h.pid == 0) {
    // Killed before it wrote its info: the name still says whose it is (<host>-<pid>).
    auto dash = name.rfind('-');
    if (dash != std::string::npos) {
      h.host = name.substr(0, dash);
      h.pid = std::strtoull(name.c_str() + dash + 1, nullptr, 10);
    }
  }
  return h;
}

std::vector<std::string> describe_lock_holders(const Storage& storage) {
  std::vector<std::string> out;
  const std::string me = host_name();
  for (const auto& name : storage.list(ObjectKind::lock)) {
    const ObjectRef ref{ObjectKind::lock, name};
    std::string text;
    try {
      auto bytes = storage.read_all(ref, k_max_info_size);
      text.assign(bytes.begin(), bytes.end());
    } catch (const Error&) {
      continue;  // vanished or unreadable: names no one
    }
    LockHolder h = decode_lock_info(text, name);
    if (is_stale(h, me)) {
      try {
        storage.remove(ref);
      } catch (const Error&) {
      }
      continue;
    }
    if (h.host == me && h.pid == process_id()) continue;
    std::time_t t = static_cast<std::time_t>(h.started);
    out.push_back(fmt::format("{} (pid {} on {}, since {:%Y-%m-%d %H:%M:%S})", h.command, h.pid,
                              h.host, fmt::localtime(t)));
  }
  return out;
}

void throw_store_locked(const Storage& storage) {
  auto holders = describe_lock_holders(storage);
  std::string who = holders.empty() ? "another process" : holders.front();
  for (size_t i = 1; i < holders.size(); ++i) who += ", " + holders[i];
  throw Error(ErrorKind::store_locked, "locking store", storage.location(), "in use by " + who);
}

}  // namespace vssimg
