#include "image/storage_local.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/os/atomic_file.hpp"
#include "core/os/file.hpp"
#include "core/os/path.hpp"
#include "core/os/platform.hpp"
#include "image/lock.hpp"
#include "image/lock_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <set>
#include <system_error>

namespace vssimg {

namespace fs = std::filesystem;

namespace {

// The folders of a store directory (docs/format.md, "Layout").
const char* const k_folders[] = {"packs", "index", "points", "locks", "tmp"};
constexpr const char* k_config_file = "config";

std::string display(const fs::path& p) {
  return path_to_utf8(p);
}

// The names of the files with `extension` directly in (or, `recursive`, anywhere under) `dir`.
template <class Iterator>
std::vector<std::string> names_in(const fs::path& dir, const std::string& extension) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& entry : Iterator(dir, ec)) {
    if (entry.path().extension() == extension) out.push_back(display(entry.path().stem()));
  }
  if (ec) throw Error("listing", display(dir), ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

// Written bytes are handed to the kernel's writeback every this many bytes.
constexpr uint64_t k_writeback_step = uint64_t{8} << 20;

// Writes through an AtomicFile. Every k_writeback_step bytes appended, the kernel is asked
// to start writing them to disk (File::start_writeback: sync_file_range on Linux, nothing
// on Windows), so that a large object's commit() (a 32 MiB pack's fsync) finds most of it
// on disk already instead of writing it all while the caller waits.
class LocalWriter final : public ObjectWriter {
 public:
  LocalWriter(fs::path final_path, const fs::path& tmp_dir, WriteMode mode, bool owner_only)
      : m_file(std::move(final_path), tmp_dir), m_mode(mode) {
    if (owner_only) restrict_to_owner(m_file.file().path());
  }
  void append(const void* data, size_t len) override {
    m_file.append(data, len);
    const uint64_t end = m_file.size();
    if (end - m_written_back >= k_writeback_step) {
      m_file.file().start_writeback(m_written_back, end - m_written_back);
      m_written_back = end;
    }
  }
  uint64_t size() const override { return m_file.size(); }
  void commit() override { m_file.commit(m_mode == WriteMode::replace); }

 private:
  AtomicFile m_file;
  WriteMode m_mode;
  uint64_t m_written_back = 0;  // bytes handed to start_writeback
};

class LocalReader final : public ObjectReader {
 public:
  explicit LocalReader(const fs::path& path)
      : m_file(path, File::Open::read), m_name(display(path)) {}
  uint64_t size() const override { return m_file.size(); }
  size_t read_at(void* buf, size_t len, uint64_t offset) const override {
    return m_file.read_at(buf, len, offset);
  }
  const std::string& name() const override { return m_name; }
  void advise_sequential() const override { m_file.advise_sequential(); }

 private:
  File m_file;
  std::string m_name;
};

// A file-name-safe form of this host's name.
std::string safe_host_name() {
  std::string h = host_name();
  for (auto& c : h) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_') c = '_';
  }
  return h.empty() ? std::string("host") : h;
}

// True when the writer that owns tmp/<name> (<host>-<pid>-<started>-<random>, written by
// process_tmp_name) is provably gone: a process of this host that is dead, or this
// process's pid with another start (a predecessor). Anything else may be alive.
bool tmp_owner_gone(const std::string& name) {
  const std::string host = safe_host_name() + "-";
  if (name.compare(0, host.size(), host) != 0) return false;
  const std::string rest = name.substr(host.size());  // <pid>-<started>-<random>
  char* end = nullptr;
  const uint64_t pid = std::strtoull(rest.c_str(), &end, 10);
  if (end == rest.c_str() || *end != '-' || pid == 0) return false;
  if (pid == process_id()) return true;  // not this process's own (the caller skips that)
  return !process_alive(pid);
}

// OS locks on locks/store.lock and locks/writer.lock plus this process's info file.
struct LocalLock final : StorageLock {
  std::optional<FileLock> store_lock;
  std::optional<FileLock> writer_lock;  // released before the store lock
  fs::path info;
  ~LocalLock() override {
    std::error_code ec;
    if (!info.empty()) fs::remove(info, ec);
  }
};

}  // namespace

std::unique_ptr<LocalStorage> LocalStorage::create_directory(const fs::path& root) {
  const std::string name = display(root);
  std::error_code ec;
  if (fs::exists(root, ec)) {
    if (!fs::is_directory(root, ec))
      throw Error("creating store", name, "a file with that name exists");
    if (!fs::is_empty(root, ec)) {
      throw Error("creating store", name,
                  fs::exists(root / k_config_file) ? "a store already exists there"
                                                   : "directory is not empty");
    }
  }
  fs::create_directories(root, ec);
  if (ec) throw Error("creating store", name, ec.message());
  for (const char* folder : k_folders) {
    fs::create_directory(root / folder, ec);
    if (ec) throw Error("creating store", display(root / folder), ec.message());
  }
  return std::make_unique<LocalStorage>(root);
}

std::unique_ptr<LocalStorage> LocalStorage::open_directory(const fs::path& root) {
  const std::string name = display(root);
  std::error_code ec;
  auto st = fs::status(root, ec);
  if (ec || !fs::exists(st)) {
    throw Error(ErrorKind::store_not_found, "opening store", name,
                "no such directory (create a store with vssimg init)");
  }
  if (!fs::is_directory(st)) {
    throw Error(ErrorKind::store_not_found, "opening store", name,
                "is a file, not a store directory");
  }
  const bool has_config = fs::exists(root / k_config_file, ec);
  if (ec == std::errc::permission_denied) {
    throw Error(ErrorKind::privilege, "opening store", name,
                "permission denied (this user cannot read the store)");
  }
  if (!has_config) {
    throw Error(ErrorKind::store_not_found, "opening store", name,
                "not a vssimg store (no config file)");
  }
  for (const char* folder : k_folders) {
    if (vssimg::is_symlink(root / folder)) {
      throw Error(ErrorKind::damage, "opening store", display(root / folder),
                  "is a symbolic link; vssimg does not follow links out of a store");
    }
  }
  return std::make_unique<LocalStorage>(root);
}

std::string LocalStorage::process_tmp_name() {
  static const std::string name = [] {
    const auto rnd = random_bytes(4);
    return fmt::format("{}-{}-{}-{}", safe_host_name(), process_id(), now_unix(),
                       to_hex(rnd.data(), rnd.size()));
  }();
  return name;
}

LocalStorage::~LocalStorage() {
  std::error_code ec;
  fs::remove(tmp_dir(), ec);  // only when empty: nothing of ours is being written
}

fs::path LocalStorage::path_of(const ObjectRef& ref) const {
  check_object_name(ref);
  const ObjectPlace place = object_place(ref.kind);
  if (ref.kind == ObjectKind::config) return m_root / k_config_file;
  fs::path dir = m_root / place.folder;
  if (ref.kind == ObjectKind::pack) dir /= ref.name.substr(0, 2);
  return dir / (ref.name + place.extension);
}

std::string LocalStorage::location() const {
  return display(m_root);
}

std::string LocalStorage::describe(const ObjectRef& ref) const {
  return display(path_of(ref));
}

std::unique_ptr<ObjectWriter> LocalStorage::create(const ObjectRef& ref, WriteMode mode) const {
  std::error_code ec;
  fs::create_directories(tmp_dir(), ec);  // this process's folder in tmp/
  // The config holds the hash secret, a key file the wrapped master key: owner-only from
  // its first byte.
  return std::make_unique<LocalWriter>(
      path_of(ref), tmp_dir(), mode, ref.kind == ObjectKind::config || ref.kind == ObjectKind::key);
}

std::unique_ptr<ObjectReader> LocalStorage::open(const ObjectRef& ref) const {
  return std::make_unique<LocalReader>(path_of(ref));
}

std::optional<uint64_t> LocalStorage::size(const ObjectRef& ref) const {
  const fs::path p = path_of(ref);
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  uint64_t n = fs::file_size(p, ec);
  if (ec) return std::nullopt;  // removed meanwhile
  return n;
}

std::vector<std::string> LocalStorage::list(ObjectKind kind) const {
  const ObjectPlace place = object_place(kind);
  if (kind == ObjectKind::config) {
    return size(ObjectRef{kind, ""}) ? std::vector<std::string>{""} : std::vector<std::string>{};
  }
  if (kind == ObjectKind::pack) {
    return names_in<fs::recursive_directory_iterator>(m_root / place.folder, place.extension);
  }
  return names_in<fs::directory_iterator>(m_root / place.folder, place.extension);
}

bool LocalStorage::remove(const ObjectRef& ref) const {
  const fs::path p = path_of(ref);
  std::error_code ec;
  bool existed = fs::remove(p, ec);
  if (ec) throw Error("deleting", display(p), ec.message());
  if (existed) sync_directory(p.parent_path());
  return existed;
}

void LocalStorage::remove_all(ObjectKind kind, const std::vector<std::string>& names) const {
  std::set<fs::path> dirs;
  for (const auto& name : names) {
    const fs::path p = path_of(ObjectRef{kind, name});
    std::error_code ec;
    if (fs::remove(p, ec)) dirs.insert(p.parent_path());
    if (ec) throw Error("deleting", display(p), ec.message());
  }
  for (const auto& d : dirs) sync_directory(d);
}

size_t LocalStorage::clean_leftovers(Leftovers which) const {
  size_t removed = 0;
  const std::string mine = process_tmp_name();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(m_root / "tmp", ec)) {
    const std::string name = display(entry.path().filename());
    std::error_code e2;
    if (!entry.is_directory(e2) || vssimg::is_symlink(entry.path())) {
      // A loose file: an earlier build's (they held the writer lock exclusive, which no
      // caller here can share with them) or a stray one.
      if (fs::remove(entry.path(), e2)) ++removed;
    } else if (name != mine && (which == Leftovers::all || tmp_owner_gone(name))) {
      const auto n = fs::remove_all(entry.path(), e2);
      if (n != static_cast<std::uintmax_t>(-1) && n > 0) removed += static_cast<size_t>(n - 1);
    }
  }
  return removed;
}

std::unique_ptr<StorageLock> LocalStorage::lock(LockMode mode, WriterLock writer,
                                                const std::string& command,
                                                bool read_only_ok) const {
  const fs::path locks = m_root / object_place(ObjectKind::lock).folder;
  std::error_code ec;
  fs::create_directory(locks, ec);  // made by create_directory(); again if deleted since
  auto held = std::make_unique<LocalLock>();
  try {
    if (writer != WriterLock::none) {
      held->writer_lock =
          FileLock::try_lock(locks / "writer.lock", writer == WriterLock::exclusive);
      if (!held->writer_lock) throw_store_locked(*this);
    }
    held->store_lock = FileLock::try_lock(locks / "store.lock", mode == LockMode::exclusive);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::privilege) throw;
    if (read_only_ok) return nullptr;
    throw Error(ErrorKind::privilege, "locking store", location(),
                "read-only for this user (" + e.cause() + "); " + command + " must write to it");
  }
  if (!held->store_lock) throw_store_locked(*this);
  describe_lock_holders(*this);  // removes the info of dead processes
  const LockHolder me = this_process(command);
  const std::string my_info = lock_info_name(me);
  if (mode == LockMode::exclusive) remove_other_infos(my_info);
  // The info is written in place, not atomically: an info cut short by a kill still names
  // its owner by its file name, and a process holding two locks rewrites its own.
  const fs::path path = path_of(ObjectRef{ObjectKind::lock, my_info});
  File f(path, File::Open::create_trunc);
  held->info = path;
  const std::string text = encode_lock_info(me);
  f.append(text.data(), text.size());  // on failure ~LocalLock removes the empty info
  return held;
}

// Under the exclusive store lock no other process holds a lock, so every other info is a
// leftover (also one of another host, never judged otherwise).
void LocalStorage::remove_other_infos(const std::string& mine) const {
  for (const auto& name : list(ObjectKind::lock)) {
    if (name == mine) continue;
    try {
      remove(ObjectRef{ObjectKind::lock, name});
    } catch (const Error&) {
    }
  }
}

}  // namespace vssimg
