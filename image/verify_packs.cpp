#include "image/verify_packs.hpp"

#include "core/os/platform.hpp"
#include "image/pack.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <thread>

namespace vssimg {

namespace {
constexpr size_t k_read_window = 4u << 20;
}

PackChecker::PackChecker(const Store& store, const BlockIndex& index, const BlockSet& referenced,
                         bool read_data, bool scoped, ReadPlan& plan)
    : m_store(store),
      m_index(index),
      m_referenced(referenced),
      m_read_data(read_data),
      m_scoped(scoped),
      m_plan(plan),
      m_by_pack(index.packs().size()) {
  index.for_each_copy([&](const BlockId& id, BlockLocation loc) {
    m_by_pack[loc.pack].emplace_back(id, loc.offset);
  });
}

PackCheckResult PackChecker::run(unsigned threads, ProgressSink& progress) {
  progress.begin(m_read_data ? "verify --read-data" : "verify", m_index.packs().size());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < std::max(1u, threads); ++t) pool.emplace_back([&] { work(progress); });
  for (auto& t : pool) t.join();
  if (m_newer) throw *m_newer;
  check_interrupted();
  progress.end();
  m_result.packs_checked = m_by_pack.size();
  m_result.bytes_read = m_bytes;
  m_result.records_read = m_records;
  return std::move(m_result);
}

void PackChecker::work(ProgressSink& progress) {
  std::vector<uint8_t> window, block(m_store.block_size());
  for (size_t n; (n = m_next++) < m_by_pack.size();) {
    if (interrupt_requested()) return;
    const size_t p = m_plan.order[n];
    if (m_scoped && !holds_referenced(m_by_pack[p])) {
      progress.update(++m_packs_done);
      continue;
    }
    std::string problem;
    BadList bad = check_pack(p, problem, window, block);
    std::lock_guard lock(m_mutex);
    if (!problem.empty()) {
      m_result.pack_damage.push_back(
          Damage{"", Damage::k_whole_file, m_index.packs()[p].hex(), problem});
    }
    m_result.bad.insert(m_result.bad.end(), bad.begin(), bad.end());
    progress.update(++m_packs_done);
  }
}

bool PackChecker::holds_referenced(const Entries& entries) const {
  return std::any_of(entries.begin(), entries.end(),
                     [&](const auto& e) { return m_referenced.count(e.first) != 0; });
}

PackChecker::BadList PackChecker::check_pack(size_t p, std::string& problem,
                                             std::vector<uint8_t>& window,
                                             std::vector<uint8_t>& block) {
  Entries& entries = m_by_pack[p];
  const bool read_this = m_read_data && m_plan.reads_now(p);
  if (read_this) m_plan.read[p] = 1;
  const std::string pack_hex = m_index.packs()[p].hex();
  BadList bad;
  try {
    auto pack = m_store.storage().open(pack_object(m_index.packs()[p]));
    check_table(*pack, entries, pack_hex, bad);
    if (read_this) check_records(*pack, entries, pack_hex, bad, window, block);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::newer_format) {  // a newer format: refuse, as for config
      std::lock_guard lock(m_mutex);
      if (!m_newer) m_newer = std::make_unique<Error>(e);
    }
    problem = e.what();
    for (const auto& entry : entries)
      bad.emplace_back(entry.first, BadBlock{pack_hex, e.cause(), entry.second, true});
  }
  return bad;
}

void PackChecker::check_table(const ObjectReader& pack, const Entries& entries,
                              const std::string& pack_hex, BadList& bad) const {
  auto table = read_pack_table(pack, m_store.config().store_id, "pack " + pack_hex + ".pack");
  std::set<std::pair<BlockId, uint32_t>> in_table;
  for (const auto& t : table) in_table.emplace(t.id, t.offset);
  for (const auto& e : entries) {
    if (!in_table.count(e)) {
      bad.emplace_back(e.first,
                       BadBlock{pack_hex, "index entry does not match the pack table", e.second});
    }
  }
}

// Reads [at, at + want) of `pack` into `window`; the cause when a part of it is damaged
// beyond reading (a sealed chunk that does not open), empty otherwise.
std::string PackChecker::read_window(const ObjectReader& pack, uint8_t* window, size_t want,
                                     uint64_t at) {
  try {
    pack.read_exact_at(window, want, at);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::damage) throw;
    return e.cause();
  }
  m_bytes += want;
  return {};
}

// Reads the one record at `at`: its header, then exactly its payload (so a damaged record
// beside it does not count against it). `want` receives the bytes read.
std::string PackChecker::read_one(const ObjectReader& pack, std::vector<uint8_t>& window,
                                  uint64_t at, uint64_t size, size_t& want) {
  want = static_cast<size_t>(std::min<uint64_t>(k_record_header_size, size - at));
  std::string what = read_window(pack, window.data(), want, at);
  PackEntry head;
  if (!what.empty() || !parse_record_header(window.data(), want, head)) return what;
  const uint64_t payload = std::min<uint64_t>(head.stored_len, m_store.block_size());
  const size_t rest = static_cast<size_t>(std::min<uint64_t>(payload, size - at - want));
  what = read_window(pack, window.data() + want, rest, at + want);
  want += rest;
  return what;
}

void PackChecker::check_records(const ObjectReader& pack, Entries& entries,
                                const std::string& pack_hex, BadList& bad,
                                std::vector<uint8_t>& window, std::vector<uint8_t>& block) {
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  // Records are read through a sliding window, not the whole pack: memory stays bounded
  // per thread (a pack may be 32 MiB or more) and reads stay sequential. When a window
  // cannot be read, the rest of the pack is read record by record, so that damage is
  // pinned to the records it touches.
  const uint64_t record_max = k_record_header_size + m_store.block_size();
  const uint64_t size = pack.size();
  const size_t window_size = std::max<size_t>(k_read_window, record_max);
  window.resize(window_size);
  uint64_t win_start = 0, win_end = 0;
  bool one_by_one = false;
  for (const auto& e : entries) {
    if (!m_referenced.count(e.first)) continue;
    ++m_records;
    std::string what;
    if (e.second >= size) {
      what = "record offset beyond the end of the pack";
    } else if (e.second < win_start || (e.second + record_max > win_end && win_end < size)) {
      win_start = e.second;
      size_t want = static_cast<size_t>(std::min<uint64_t>(window_size, size - win_start));
      if (!one_by_one) what = read_window(pack, window.data(), want, win_start);
      if (one_by_one || !what.empty()) {
        one_by_one = true;
        what = read_one(pack, window, win_start, size, want);
      }
      win_end = what.empty() ? win_start + want : 0;
      if (!what.empty()) win_start = 0;
    }
    uint32_t raw_len = 0;
    if (what.empty()) {
      what = check_record(window.data() + (e.second - win_start),
                          static_cast<size_t>(win_end - e.second), e.first, m_store.hasher(),
                          block.data(), block.size(), raw_len);
    }
    if (!what.empty()) {
      bad.emplace_back(
          e.first,
          BadBlock{pack_hex, fmt::format("record at offset {}: {}", e.second, what), e.second});
    }
  }
}

}  // namespace vssimg
