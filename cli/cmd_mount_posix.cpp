// `vssimg mount POINT DIR` (Linux): the point as one read-only raw image file,
// DIR/volume.img, served through FUSE (libfuse3) until `fusermount3 -u DIR` or Ctrl+C
// (both end it with exit 0, or 3 when blocks came from a further copy: one warning at
// unmount, as restore says it). Reads go through PointSource (thread-safe, decoded blocks
// cached), so the image opens with `mount -o loop,ro`, ntfs-3g or debugfs at any offset
// without restoring it. The store's lock is held shared while mounted, so prune cannot
// remove blocks being served.
#define FUSE_USE_VERSION 35

#include "cli/lock_options.hpp"
#include "cli/context.hpp"
#include "cli/point_flags.hpp"
#include "cli/exit_codes.hpp"
#include "core/base/error.hpp"
#include "image/lock.hpp"
#include "image/point_source.hpp"

#include <fmt/format.h>
#include <fuse.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace vssimg::cli {

namespace {

constexpr const char* k_image_path = "/volume.img";

struct MountCommandOptions {
  std::string point;
  std::string dir;
  PointFilterFlags filter;  // --source, --host
  bool allow_other = false;
};

// What the FUSE callbacks serve (fuse_get_context()->private_data); they run on
// libfuse's worker threads.
struct Served {
  PointSource* source = nullptr;
  Output* out = nullptr;
  int64_t created = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::atomic<uint64_t> bytes_read{0};
  std::mutex mutex;  // guards the fields below and `out`
  uint64_t failed_reads = 0;
  std::string first_failure;
};

Served& served() {
  return *static_cast<Served*>(fuse_get_context()->private_data);
}

int fs_getattr(const char* path, struct stat* st, fuse_file_info*) {
  Served& s = served();
  std::memset(st, 0, sizeof *st);
  st->st_uid = s.uid;
  st->st_gid = s.gid;
  st->st_atime = st->st_mtime = st->st_ctime = static_cast<time_t>(s.created);
  if (std::strcmp(path, "/") == 0) {
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    return 0;
  }
  if (std::strcmp(path, k_image_path) != 0) return -ENOENT;
  st->st_mode = S_IFREG | 0444;
  st->st_nlink = 1;
  st->st_size = static_cast<off_t>(s.source->size());
  st->st_blocks = static_cast<blkcnt_t>((s.source->size() + 511) / 512);
  st->st_blksize = static_cast<blksize_t>(s.source->point().block_size);
  return 0;
}

int fs_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info*,
               fuse_readdir_flags) {
  if (std::strcmp(path, "/") != 0) return -ENOTDIR;
  fill(buf, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  fill(buf, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  fill(buf, k_image_path + 1, nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  return 0;
}

int fs_open(const char* path, fuse_file_info* fi) {
  if (std::strcmp(path, k_image_path) != 0) return -ENOENT;
  if ((fi->flags & O_ACCMODE) != O_RDONLY) return -EROFS;
  fi->keep_cache = 1;  // the point never changes
  return 0;
}

int fs_read(const char* path, char* buf, size_t size, off_t offset, fuse_file_info*) {
  Served& s = served();
  if (std::strcmp(path, k_image_path) != 0) return -ENOENT;
  const uint64_t total = s.source->size();
  if (offset < 0) return -EINVAL;
  if (static_cast<uint64_t>(offset) >= total) return 0;
  const auto n =
      static_cast<size_t>(std::min<uint64_t>(size, total - static_cast<uint64_t>(offset)));
  try {
    s.source->read_at(buf, n, static_cast<uint64_t>(offset));
  } catch (const std::exception& e) {
    // Damage is reported, never served as data: the reader gets EIO.
    std::lock_guard lock(s.mutex);
    if (s.failed_reads++ == 0) s.first_failure = e.what();
    s.out->warning(e.what());
    return -EIO;
  }
  s.bytes_read += n;
  return static_cast<int>(n);
}

// libfuse's own messages ("fuse: device not found"): kept for the error line instead of
// printed, since only our output prints.
std::mutex g_fuse_log_mutex;
std::string g_fuse_log;

void capture_fuse_log(fuse_log_level, const char* format, va_list ap) {
  char line[512];
  std::vsnprintf(line, sizeof line, format, ap);
  std::lock_guard lock(g_fuse_log_mutex);
  g_fuse_log = line;
  while (!g_fuse_log.empty() && (g_fuse_log.back() == '\n' || g_fuse_log.back() == ' '))
    g_fuse_log.pop_back();
}

std::string fuse_log_or(const std::string& fallback) {
  std::lock_guard lock(g_fuse_log_mutex);
  return g_fuse_log.empty() ? fallback : g_fuse_log;
}

struct FuseCloser {
  void operator()(fuse* f) const { fuse_destroy(f); }
};

// Ctrl+C, SIGTERM and SIGHUP end the FUSE loop (libfuse's handlers, which it installs
// only over the default disposition); the program's own handlers come back afterwards.
class FuseSignals {
 public:
  explicit FuseSignals(fuse_session* se) : m_se(se) {
    for (int i = 0; i < 3; ++i) {
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      sigaction(k_signals[i], &dfl, &m_saved[i]);
    }
    m_installed = fuse_set_signal_handlers(se) == 0;
  }
  ~FuseSignals() {
    if (m_installed) fuse_remove_signal_handlers(m_se);
    for (int i = 0; i < 3; ++i) sigaction(k_signals[i], &m_saved[i], nullptr);
  }
  FuseSignals(const FuseSignals&) = delete;
  FuseSignals& operator=(const FuseSignals&) = delete;
  bool installed() const { return m_installed; }

 private:
  static constexpr int k_signals[3] = {SIGINT, SIGTERM, SIGHUP};
  fuse_session* m_se;
  struct sigaction m_saved[3]{};
  bool m_installed = false;
};

// Mounts `dir`, serves until unmounted or signalled, unmounts. Throws Error(failure)
// naming `dir` and libfuse's reason when the mount cannot be made.
void serve(Served& s, const MountCommandOptions& opts) {
  fuse_set_log_func(capture_fuse_log);
  std::string mount_opts = "ro,default_permissions,fsname=vssimg,subtype=vssimg";
  if (opts.allow_other) mount_opts += ",allow_other";
  std::string arg0 = "vssimg", arg1 = "-o";
  char* argv[] = {arg0.data(), arg1.data(), mount_opts.data(), nullptr};
  fuse_args args = FUSE_ARGS_INIT(3, argv);
  fuse_operations ops{};
  ops.getattr = fs_getattr;
  ops.readdir = fs_readdir;
  ops.open = fs_open;
  ops.read = fs_read;
  std::unique_ptr<fuse, FuseCloser> f(fuse_new(&args, &ops, sizeof ops, &s));
  fuse_opt_free_args(&args);  // fuse_new copied what it parsed; it may have allocated
  if (!f) throw Error("mounting on", opts.dir, fuse_log_or("libfuse refused the options"));
  if (fuse_mount(f.get(), opts.dir.c_str()) != 0) {
    throw Error("mounting on", opts.dir, fuse_log_or("fuse_mount failed"));
  }
  int rc = 0;
  {
    FuseSignals signals(fuse_get_session(f.get()));
    if (!signals.installed()) {
      fuse_unmount(f.get());
      throw Error("mounting on", opts.dir, "could not install the signal handlers");
    }
    s.out->info(fmt::format("point {} mounted: {}{} ({}); end with fusermount3 -u {} or Ctrl+C",
                            s.source->point().id, opts.dir, k_image_path,
                            human_bytes(s.source->size()), opts.dir));
    fuse_loop_config* config = fuse_loop_cfg_create();
    rc = fuse_loop_mt(f.get(), config);
    fuse_loop_cfg_destroy(config);
  }
  fuse_unmount(f.get());
  // rc > 0: the signal that ended the loop (a clean end); rc < 0: -errno.
  if (rc < 0) throw Error("serving", opts.dir, errno_text(-rc));
}

void check_mount_dir(const std::string& dir) {
  std::error_code ec;
  auto status = std::filesystem::status(dir, ec);
  if (!std::filesystem::exists(status)) {
    throw Error(ErrorKind::usage, "mounting on", dir, "no such directory");
  }
  if (!std::filesystem::is_directory(status)) {
    throw Error(ErrorKind::usage, "mounting on", dir, "not a directory");
  }
  if (::access("/dev/fuse", R_OK | W_OK) != 0) {
    int err = errno;
    throw Error("mounting on", dir,
                err == ENOENT ? "/dev/fuse does not exist (no FUSE in this kernel or container: "
                                "modprobe fuse, or run the container with --device /dev/fuse)"
                              : "/dev/fuse: " + errno_text(err));
  }
}

int run_mount_command(Context& ctx, const MountCommandOptions& opts) {
  check_mount_dir(opts.dir);
  Store store(ctx.store_path());
  StoreLock lock(store.storage(), LockMode::shared, WriterLock::none, "mount",
                 lock_options(ctx, StoreAccess::read));
  Point point = store.load_point(resolve_point(store, opts.point, point_filter(opts.filter)));
  PointSource source(store, point, 256);
  Served s;
  s.source = &source;
  s.out = ctx.out.get();
  s.created = point.created();
  s.uid = ::getuid();
  s.gid = ::getgid();
  ctx.out->log(fmt::format("mount of point {} on {} started", point.id, opts.dir));
  serve(s, opts);
  // Unmounted: the copies fallen back to said once, the damage met recorded.
  const size_t fallbacks = source.report(ctx.out->progress());
  const uint64_t bytes = s.bytes_read.load();
  ctx.out->log(
      fmt::format("mount of point {} on {} ended: {} bytes served", point.id, opts.dir, bytes));
  ctx.summary.add("point", point.id)
      .add("dir", opts.dir)
      .add("file", opts.dir + k_image_path)
      .add("bytes_served", bytes)
      .add("failed_reads", s.failed_reads)
      .add("copies_fallen_back", uint64_t{fallbacks});
  if (s.failed_reads) {
    throw Error(ErrorKind::damage, "serving point", point.id,
                fmt::format("{} reads failed, the first: {}", s.failed_reads, s.first_failure));
  }
  ctx.out->text(
      fmt::format("point {} unmounted from {}: {} served", point.id, opts.dir, human_bytes(bytes)));
  return exit_code_for_warnings(ctx.out->warning_count());
}

}  // namespace

void add_mount_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<MountCommandOptions>();
  auto* sub = app.add_subcommand(
      "mount", "Linux: serve a point as DIR/volume.img (read-only, FUSE) until unmounted");
  sub->add_option("point", opts->point, "Point id, unique prefix, or 'latest'")->required();
  sub->add_option("dir", opts->dir, "Empty directory to mount on")->required();
  add_point_filter_flags(sub, opts->filter, FilterUse::named);
  sub->add_flag("--allow-other", opts->allow_other,
                "Let other users (root too) read it; needs user_allow_other in /etc/fuse.conf "
                "unless run as root");
  table.add(sub, [opts](Context& ctx) { return run_mount_command(ctx, *opts); });
}

}  // namespace vssimg::cli
