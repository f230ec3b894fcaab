#include "image/verify.hpp"

#include "core/os/atomic_file.hpp"
#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <cstring>
#include <thread>
#include <unordered_map>

namespace vssimg {

namespace {

constexpr size_t k_read_window = 4u << 20;


// Problem per damaged block id, with the pack it is in.
struct BadBlock {
  std::string pack;
  std::string what;
};
using BadBlocks = std::unordered_map<BlockId, BadBlock, BlockIdHash>;

// Checks every pack the index refers to: present, table intact, and agreeing with the
// index. With read_data, also reads every referenced record and re-hashes it.
// Which packs to read data from, in what order, until when (--subset, --max-duration).
struct ReadPlan {
  std::vector<size_t> order;   // pack ordinals, least recently read first
  std::vector<char> selected;  // per ordinal: read its data
  double deadline = 0;         // monotonic seconds; 0 = none
  std::vector<char> read;      // per ordinal: was read (out)
};

// `scoped` (points were selected): packs holding none of their blocks are not checked.
void check_packs(const Store& store, const BlockIndex& index,
                 const std::unordered_map<BlockId, bool, BlockIdHash>& referenced, bool read_data,
                 bool scoped, unsigned threads, VerifyResult& result, BadBlocks& bad,
                 ProgressSink& progress, ReadPlan& plan) {
  // Group the index's entries by pack.
  std::vector<std::vector<std::pair<BlockId, uint32_t>>> by_pack(index.packs().size());
  index.for_each([&](const BlockId& id, BlockLocation loc) {
    by_pack[loc.pack].emplace_back(id, loc.offset);
  });

  std::mutex mutex;
  std::unique_ptr<Error> newer;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> bytes{0}, records{0};
  const uint32_t bs = store.block_size();
  progress.begin(read_data ? "verify --read-data" : "verify", index.packs().size());
  std::atomic<size_t> packs_done{0};
  auto worker = [&] {
    std::vector<uint8_t> buf, out(bs);
    for (size_t n; (n = next++) < by_pack.size();) {
      if (interrupt_requested()) return;
      const size_t p = plan.order[n];
      auto& entries = by_pack[p];
      if (scoped && std::none_of(entries.begin(), entries.end(),
                                 [&](const auto& e) { return referenced.count(e.first) != 0; })) {
        progress.update(++packs_done);
        continue;
      }
      const bool read_this = read_data && plan.selected[p] &&
                             (plan.deadline == 0 || monotonic_seconds() < plan.deadline);
      if (read_this) plan.read[p] = 1;
      const std::string pack_hex = index.packs()[p].hex();
      std::vector<std::pair<BlockId, BadBlock>> local_bad;
      auto mark_all = [&](const std::string& what) {
        for (auto& e : entries) local_bad.emplace_back(e.first, BadBlock{pack_hex, what});
      };
      std::string pack_problem;
      try {
        File f(store.pack_path(index.packs()[p]), File::Open::read);
        auto table = read_pack_table(f, store.config().store_id);
        std::map<BlockId, uint32_t> table_offsets;
        for (const auto& t : table) table_offsets[t.id] = t.offset;
        for (auto& e : entries) {
          auto it = table_offsets.find(e.first);
          if (it == table_offsets.end() || it->second != e.second) {
            local_bad.emplace_back(e.first,
                                   BadBlock{pack_hex, "index entry does not match the pack table"});
          }
        }
        if (read_this) {
          std::sort(entries.begin(), entries.end(),
                    [](const auto& a, const auto& b) { return a.second < b.second; });
          // Records are read through a sliding window, not the whole pack: memory stays
          // bounded per thread (a pack may be 32 MiB or more) and reads stay sequential.
          const uint64_t size = f.size();
          const size_t window = std::max<size_t>(k_read_window, k_record_header_size + bs);
          buf.resize(window);
          uint64_t win_start = 0, win_end = 0;
          for (auto& e : entries) {
            if (!referenced.count(e.first)) continue;
            if (e.second < size &&
                (e.second < win_start || e.second + k_record_header_size + bs > win_end) &&
                win_end < size) {
              win_start = e.second;
              size_t want = static_cast<size_t>(std::min<uint64_t>(window, size - win_start));
              f.read_exact_at(buf.data(), want, win_start);
              win_end = win_start + want;
              bytes += want;
            }
            uint32_t raw_len = 0;
            std::string what = e.second < size && e.second >= win_start
                                   ? check_record(buf.data() + (e.second - win_start),
                                                  static_cast<size_t>(win_end - e.second), e.first,
                                                  store.hasher(), out.data(), out.size(), raw_len)
                                   : "record offset beyond the end of the pack";
            ++records;
            if (!what.empty()) {
              local_bad.emplace_back(
                  e.first,
                  BadBlock{pack_hex, fmt::format("record at offset {}: {}", e.second, what)});
            }
          }
        }
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::newer_format) {  // a newer format: refuse, as for config
          std::lock_guard lock(mutex);
          if (!newer) newer = std::make_unique<Error>(e);
        }
        pack_problem = e.what();
        mark_all(e.cause());
      }
      std::lock_guard lock(mutex);
      if (!pack_problem.empty())
        result.damage.push_back(Damage{"", Damage::k_whole_file, pack_hex, pack_problem});
      for (auto& [id, b] : local_bad) bad.emplace(id, b);
      progress.update(++packs_done);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < std::max(1u, threads); ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (newer) throw *newer;
  check_interrupted();
  progress.end();
  result.packs_checked = by_pack.size();
  result.bytes_read = bytes;
  result.records_read = records;
}

// docs/format.md, "Verify state": which packs --read-data read last, and when.
constexpr const char* k_state_file = "verify.state";
constexpr const char* k_state_magic = "vssimg-verify-state 1";

std::map<PackId, int64_t> load_verify_state(const Store& store, std::vector<std::string>& notes) {
  std::map<PackId, int64_t> state;
  const auto path = store.root() / k_state_file;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return state;
  try {
    std::string text = read_small_file(path, 64u << 20);
    size_t end = text.rfind("end ");
    if (end == std::string::npos ||
        text.compare(0, std::strlen(k_state_magic), k_state_magic) != 0 ||
        text.substr(end + 4, 16) != fmt::format("{:016x}", checksum64(text.data(), end))) {
      throw Error(ErrorKind::damage, "reading", path.string(), "bad magic or checksum");
    }
    std::istringstream lines(text.substr(0, end));
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line)) {
      PackId id;
      size_t space = line.find(' ');
      if (space == std::string::npos || !PackId::parse(line.substr(0, space), id)) continue;
      state[id] = std::stoll(line.substr(space + 1));
    }
  } catch (const std::exception& e) {
    notes.push_back(
        fmt::format("ignoring the verify state ({}); packs are read in id order", e.what()));
    state.clear();
  }
  return state;
}

void save_verify_state(const Store& store, const std::map<PackId, int64_t>& state,
                       std::vector<std::string>& notes) {
  std::string text = std::string(k_state_magic) + "\n";
  for (const auto& [id, when] : state) text += fmt::format("{} {}\n", id.hex(), when);
  text += fmt::format("end {:016x}\n", checksum64(text.data(), text.size()));
  try {
    AtomicFile file(store.root() / k_state_file, store.tmp_dir());
    file.append(text.data(), text.size());
    file.commit(true);
  } catch (const Error& e) {
    // Only the order of the next verify depends on it; the result of this one stands.
    notes.push_back(fmt::format("could not remember which packs were read: {}", e.what()));
  }
}

}  // namespace

unsigned pack_subset_of(const PackId& pack, unsigned count) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | pack.bytes[static_cast<size_t>(i)];
  return static_cast<unsigned>(v % count) + 1;
}

VerifyResult run_verify(const Store& store, const VerifyOptions& options, ProgressSink& progress) {
  VerifyResult result;
  std::vector<std::string> problems;
  BlockIndex index = store.load_index(&problems);
  // With points selected, a damaged segment matters only through blocks those points
  // lose ("not in the index", reported per offset below).
  const bool scoped = !options.points.empty();
  for (const auto& p : problems) {
    if (scoped)
      result.notes.push_back(p);
    else
      result.damage.push_back(Damage{"", Damage::k_whole_file, "", p});
  }

  // Points: the selected ones, or all (including those whose header is unreadable).
  std::vector<std::string> ids = options.points;
  if (ids.empty()) {
    std::vector<std::string> list_problems;
    for (const auto& info : store.list_points(&list_problems)) ids.push_back(info.id);
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(store.root() / "points", ec)) {
      std::string id = entry.path().stem().string();
      if (entry.path().extension() == ".point" &&
          std::find(ids.begin(), ids.end(), id) == ids.end()) {
        ids.push_back(id);
      }
    }
  }
  std::vector<Point> points;
  std::unordered_map<BlockId, bool, BlockIdHash> referenced;
  for (const auto& id : ids) {
    ++result.points_checked;
    try {
      points.push_back(store.load_point(id));
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::newer_format) throw;  // a newer point format: refuse (exit 10)
      result.damage.push_back(Damage{id, Damage::k_whole_file, "", e.what()});
      ++result.points_damaged;
      continue;
    }
    for (const auto& b : points.back().map) {
      if (!b.is_marker()) referenced.emplace(b, true);
    }
  }
  result.blocks_referenced = referenced.size();

  BadBlocks bad;
  for (const auto& [id, _] : referenced) {
    if (!index.contains(id)) bad.emplace(id, BadBlock{"", "block is not in the index (lost)"});
  }
  const unsigned threads = options.threads ? options.threads : hardware_threads();
  // --subset / --max-duration: which packs' data is read, least recently read first.
  ReadPlan plan;
  const auto& packs = index.packs();
  plan.selected.assign(packs.size(), 1);
  plan.read.assign(packs.size(), 0);
  if (options.subset_count) {
    for (size_t i = 0; i < packs.size(); ++i) {
      plan.selected[i] = pack_subset_of(packs[i], options.subset_count) == options.subset_index;
    }
  }
  std::map<PackId, int64_t> state;
  const bool remember = options.read_data && options.remember;
  if (remember) state = load_verify_state(store, result.notes);
  plan.order.resize(packs.size());
  for (size_t i = 0; i < packs.size(); ++i) plan.order[i] = i;
  auto last_read = [&](size_t i) {
    auto it = state.find(packs[i]);
    return it == state.end() ? INT64_MIN : it->second;
  };
  std::stable_sort(plan.order.begin(), plan.order.end(), [&](size_t a, size_t b) {
    auto ta = last_read(a), tb = last_read(b);
    return ta != tb ? ta < tb : packs[a] < packs[b];
  });
  if (options.max_seconds > 0) plan.deadline = monotonic_seconds() + options.max_seconds;
  check_packs(store, index, referenced, options.read_data, scoped, threads, result, bad, progress,
              plan);
  if (options.read_data) {
    result.packs_selected =
        static_cast<size_t>(std::count(plan.selected.begin(), plan.selected.end(), 1));
    result.packs_read = static_cast<size_t>(std::count(plan.read.begin(), plan.read.end(), 1));
    result.time_limit_reached = plan.deadline != 0 && result.packs_read < result.packs_selected;
  }
  // A damaged store is left exactly as it was found (the state is advisory).
  if (remember && result.damage.empty()) {
    std::map<PackId, int64_t> next;
    const int64_t now = now_unix();
    for (size_t i = 0; i < packs.size(); ++i) {
      if (plan.read[i])
        next[packs[i]] = now;
      else if (state.count(packs[i]))
        next[packs[i]] = state[packs[i]];
    }
    save_verify_state(store, next, result.notes);
  }

  // Packs on disk that no index segment names: left by an interrupted backup.
  std::set<PackId> indexed(index.packs().begin(), index.packs().end());
  size_t unindexed = 0;
  for (const auto& p : store.packs_on_disk()) unindexed += indexed.count(p) ? 0 : 1;
  if (unindexed) {
    result.notes.push_back(fmt::format(
        "{} pack(s) are not in the index (left by an interrupted backup, or a lost index segment; "
        "`vssimg repair index` indexes them, `vssimg prune` removes unused ones)",
        unindexed));
  }

  // Attribute damaged blocks to points and volume offsets.
  for (const auto& p : points) {
    bool damaged = false;
    uint64_t unreadable = 0;
    for (size_t i = 0; i < p.map.size(); ++i) {
      const BlockId& b = p.map[i];
      if (b.is_unreadable()) ++unreadable;
      if (b.is_marker()) continue;
      auto it = bad.find(b);
      if (it == bad.end()) continue;
      damaged = true;
      result.damage.push_back(
          Damage{p.id, uint64_t{i} * p.block_size, it->second.pack, it->second.what});
    }
    if (damaged) ++result.points_damaged;
    if (unreadable) {
      result.notes.push_back(fmt::format(
          "point {} has {} block(s) that were unreadable at backup time", p.id, unreadable));
    }
  }
  return result;
}

}  // namespace vssimg
