#include "core/os/file.hpp"
#include "core/os/platform.hpp"
#include "image/lock.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>
#include <sstream>
#include <system_error>

namespace vssimg {

namespace fs = std::filesystem;

fs::path write_lock_info(const fs::path& store_root, const std::string& command) {
  auto path = store_root / "locks" / fmt::format("{}-{}.info", host_name(), process_id());
  File f(path, File::Open::create_trunc);
  std::string text = fmt::format("command={}\nhost={}\npid={}\nstarted={}\n", command, host_name(),
                                 process_id(), now_unix());
  try {
    f.append(text.data(), text.size());
  } catch (...) {
    std::error_code ec;  // an empty info file would name no holder and never go stale
    fs::remove(path, ec);
    throw;
  }
  return path;
}

std::vector<std::string> describe_lock_holders(const fs::path& store_root) {
  std::vector<std::string> out;
  std::error_code ec;
  const std::string me = host_name();
  for (const auto& entry : fs::directory_iterator(store_root / "locks", ec)) {
    if (entry.path().extension() != ".info") continue;
    std::string text;
    try {
      text = read_small_file(entry.path(), 4096);
    } catch (...) {
      continue;
    }
    std::string command, host;
    uint64_t pid = 0;
    int64_t started = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      std::string k = line.substr(0, eq), v = line.substr(eq + 1);
      if (k == "command") command = v;
      if (k == "host") host = v;
      if (k == "pid") pid = std::strtoull(v.c_str(), nullptr, 10);
      if (k == "started") started = std::strtoll(v.c_str(), nullptr, 10);
    }
    if (pid == 0) {
      // Killed before it wrote its info: the name still says whose it is (<host>-<pid>.info).
      std::string stem = entry.path().stem().string();
      auto dash = stem.rfind('-');
      if (dash != std::string::npos) {
        host = stem.substr(0, dash);
        pid = std::strtoull(stem.c_str() + dash + 1, nullptr, 10);
      }
    }
    if (host == me && pid != process_id() && !process_alive(pid)) {
      fs::remove(entry.path(), ec);  // stale: its process is gone
      continue;
    }
    if (host == me && pid == process_id()) continue;
    std::time_t t = static_cast<std::time_t>(started);
    out.push_back(fmt::format("{} (pid {} on {}, since {:%Y-%m-%d %H:%M:%S})", command, pid, host,
                              fmt::localtime(t)));
  }
  return out;
}

}  // namespace vssimg
