#include "core/base/error.hpp"
#include "core/os/platform.hpp"

#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/sysmacros.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace vssimg {

namespace {

std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int sig) {
  if (interrupt_requested()) {
    // The second one: stop now. Nothing committed is lost (commit order).
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_signal.store(sig);
  request_interrupt(sig == SIGTERM ? "terminated (SIGTERM)" : nullptr);
}

}  // namespace

void install_interrupt_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

InterruptSignal interrupt_signal() {
  const int sig = g_signal.load();
  return sig == SIGTERM  ? InterruptSignal::terminate
         : sig == SIGINT ? InterruptSignal::interrupt
                         : InterruptSignal::none;
}

std::vector<uint8_t> random_bytes(size_t n) {
  std::vector<uint8_t> out(n);
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::getrandom(out.data() + done, n - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw_errno("reading", "random bytes", errno);
    }
    done += static_cast<size_t>(got);
  }
  return out;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

uint64_t process_id() {
  return static_cast<uint64_t>(::getpid());
}

bool process_alive(uint64_t pid) {
  if (pid == 0 || pid > static_cast<uint64_t>(INT32_MAX)) return false;
  if (::kill(static_cast<pid_t>(pid), 0) == 0) return true;
  return errno == EPERM;
}

void restrict_to_owner(const std::filesystem::path& path) {
  if (::chmod(path.c_str(), 0600) != 0)
    throw_errno("restricting permissions of", path.string(), errno);
}

bool is_symlink(const std::filesystem::path& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

TargetInfo inspect_target(const std::filesystem::path& path) {
  TargetInfo info;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) throw_errno("inspecting", path.string(), errno);
    return info;
  }
  info.exists = true;
  info.is_directory = S_ISDIR(st.st_mode);
  info.is_device = S_ISBLK(st.st_mode);
  if (!info.is_device) return info;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    uint64_t size = 0;
    if (::ioctl(fd, BLKGETSIZE64, &size) == 0) info.device_size = size;
    ::close(fd);
  }
  // /proc/self/mountinfo: the third field is the device's major:minor.
  std::ifstream mounts("/proc/self/mountinfo");
  const std::string want =
      std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev;
    fields >> id >> parent >> dev;
    if (dev == want) info.is_mounted = true;
  }
  return info;
}

bool stderr_is_console() {
  return ::isatty(2) == 1;
}

std::FILE* binary_stdout(const std::string& operation, const std::string& example) {
  if (::isatty(STDOUT_FILENO) == 1) {
    throw Error(ErrorKind::usage, operation, "standard output",
                "is a console; redirect it to a file or a pipe (" + example + ")");
  }
  return stdout;
}

void tune_memory() {
#ifdef __GLIBC__
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);  // fixed: no dynamic threshold
#endif
}

uint64_t peak_rss_bytes() {
  struct rusage ru {};
  if (::getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;
}

}  // namespace vssimg
