#include "image/block_reader.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vssimg {

namespace {
constexpr size_t k_max_open_packs = 128;
}

BlockReader::BlockReader(const Store& store, const BlockIndex& index, const DamageSet* known)
    : m_store(store), m_index(index), m_known(known) {}

std::shared_ptr<const ObjectReader> BlockReader::open_pack(uint32_t ordinal) {
  std::unique_lock lock(m_mutex);
  for (auto it = m_open.find(ordinal); it != m_open.end(); it = m_open.find(ordinal)) {
    if (it->second.first) {
      m_lru.splice(m_lru.begin(), m_lru, it->second.second);
      return it->second.first;
    }
    m_opened.wait(lock);  // another thread is opening it
  }
  // Opened without the mutex: on an object store that is a HEAD and a GET, which must not
  // hold up the reads of packs already open (nor the opening of others).
  m_lru.push_front(ordinal);
  m_open.emplace(ordinal, std::make_pair(nullptr, m_lru.begin()));
  lock.unlock();
  std::shared_ptr<const ObjectReader> file;
  try {
    file = open_pack_file(m_index.packs().at(ordinal));
  } catch (...) {
    lock.lock();
    m_lru.erase(m_open.at(ordinal).second);
    m_open.erase(ordinal);
    m_opened.notify_all();  // a waiter opens it again and meets the error itself
    throw;
  }
  lock.lock();
  m_open.at(ordinal).first = file;
  for (auto old = m_lru.end(); m_open.size() > k_max_open_packs && old != m_lru.begin();) {
    --old;  // the least recently used open pack, never one being opened
    if (!m_open.at(*old).first) continue;
    m_open.erase(*old);
    old = m_lru.erase(old);
  }
  m_opened.notify_all();
  return file;
}

std::shared_ptr<const ObjectReader> BlockReader::open_pack_file(const PackId& id) const {
  std::shared_ptr<const ObjectReader> file;
  try {
    file = m_store.storage().open(pack_object(id));
  } catch (const Error& e) {
    throw Error(ErrorKind::damage, "reading", "pack " + id.hex(), e.cause());
  }
  uint8_t header[12] = {};
  file->read_at(header, sizeof header, 0);
  check_pack_version(get_u32(header + 8), "pack " + id.hex());  // its records may differ
  return file;
}

bool BlockReader::known_bad(const BlockId& id, BlockLocation loc) const {
  return m_known && !m_known->empty() &&
         m_known->copy_bad(id, m_index.packs()[loc.pack], loc.offset);
}

std::vector<BlockLocation> BlockReader::order_copies(const BlockId& id) const {
  std::vector<BlockLocation> copies = m_index.copies(id);
  if (copies.size() > 1 && m_known && !m_known->empty()) {
    std::stable_partition(copies.begin(), copies.end(),
                          [&](const BlockLocation& c) { return !known_bad(id, c); });
  }
  return copies;
}

std::string BlockReader::read_copy(const BlockId& id, BlockLocation loc, uint8_t* out,
                                   std::vector<uint8_t>& scratch, uint32_t& raw_len,
                                   uint32_t* stored_len) {
  auto file = open_pack(loc.pack);
  const uint32_t bs = m_store.block_size();
  scratch.resize(k_record_header_size + bs);
  size_t got = 0;
  PackEntry head;
  if (m_store.encrypted() &&
      file->read_at(scratch.data(), k_record_header_size, loc.offset) == k_record_header_size &&
      parse_record_header(scratch.data(), k_record_header_size, head) && head.stored_len <= bs) {
    // A sealed pack is opened chunk by chunk: read the record, not a whole block size.
    got = k_record_header_size + file->read_at(scratch.data() + k_record_header_size,
                                               head.stored_len, loc.offset + k_record_header_size);
  } else {
    got = file->read_at(scratch.data(), scratch.size(), loc.offset);
  }
  std::string problem = check_record(scratch.data(), got, id, m_store.hasher(), out, bs, raw_len);
  if (problem.empty() && stored_len) {
    PackEntry entry;
    parse_record_header(scratch.data(), got, entry);  // check_record accepted it
    *stored_len = entry.stored_len;
  }
  return problem;
}

void BlockReader::note_bad_copy(const BlockId& id, BlockLocation loc, bool whole_pack) {
  const PackId& pack = m_index.packs()[loc.pack];
  std::lock_guard lock(m_mutex);
  if (m_known && m_known->copy_bad(id, pack, loc.offset)) return;
  if (whole_pack)
    m_found.add_pack(pack, now_unix());
  else
    m_found.add_copy(id, pack, loc.offset, now_unix());
}

void BlockReader::note_fallback(const BlockId& id, const std::string& what, BlockLocation used) {
  std::lock_guard lock(m_mutex);
  if (m_fallbacks++ != 0) return;
  m_first_fallback = fmt::format("block {}: {}; read from the copy in pack {} at offset {}",
                                 id.hex(), what, m_index.packs()[used.pack].hex(), used.offset);
}

uint32_t BlockReader::read(const BlockId& id, uint8_t* out, std::vector<uint8_t>& scratch,
                           uint32_t* stored_len) {
  BlockLocation first;
  if (!m_index.find(id, first)) {
    throw Error(ErrorKind::damage, "reading", "block " + id.hex(), "not in the index (lost)");
  }
  // The usual case, once per block of a restore: the first copy is not known to be bad and
  // passes its check. Nothing is allocated (`scratch` is the caller's); what went wrong is
  // only put into words by read_copies, which tries the copies again from the first.
  if (!known_bad(id, first)) {
    uint32_t raw_len = 0;
    try {
      if (read_copy(id, first, out, scratch, raw_len, stored_len).empty()) return raw_len;
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::newer_format) throw;
    }
  }
  return read_copies(id, out, scratch, stored_len);
}

uint32_t BlockReader::read_copies(const BlockId& id, uint8_t* out, std::vector<uint8_t>& scratch,
                                  uint32_t* stored_len) {
  struct Failure {
    BlockLocation loc;
    bool whole_pack;  // the pack itself could not be opened
    Error error;
  };
  std::vector<Failure> failed;  // in the order tried
  for (const BlockLocation loc : order_copies(id)) {
    uint32_t raw_len = 0;
    std::string problem;
    try {
      problem = read_copy(id, loc, out, scratch, raw_len, stored_len);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::newer_format) throw;
      failed.push_back(Failure{loc, true, e});
      continue;
    }
    if (problem.empty()) {
      const Failure* unknown = nullptr;  // the first failed copy not known to be bad
      for (const auto& f : failed) {
        note_bad_copy(id, f.loc, f.whole_pack);
        if (!unknown && !known_bad(id, f.loc)) unknown = &f;
      }
      if (unknown) note_fallback(id, unknown->error.what(), loc);
      return raw_len;
    }
    failed.push_back(Failure{
        loc, false,
        Error(ErrorKind::damage, "reading",
              fmt::format("pack {} at offset {}", m_index.packs()[loc.pack].hex(), loc.offset),
              problem)});
  }
  for (const auto& f : failed) note_bad_copy(id, f.loc, f.whole_pack);
  const Error& first = failed.front().error;
  if (failed.size() == 1) throw first;
  throw Error(ErrorKind::damage, first.operation(), first.object(),
              fmt::format("{} (and {} other cop{} of the block, damaged too)", first.cause(),
                          failed.size() - 1, failed.size() == 2 ? "y" : "ies"));
}

void BlockReader::prefetch(const std::vector<BlockId>& ids) noexcept {
  // One hint per run of records in one pack: from the first record to the end of the last.
  const size_t record = k_record_header_size + m_store.block_size();
  BlockLocation run{}, loc;
  uint64_t run_end = 0;
  bool open = false;
  auto flush = [&] {
    if (!open) return;
    try {
      open_pack(run.pack)->will_need(run.offset, static_cast<size_t>(run_end - run.offset));
    } catch (...) {
    }
  };
  for (const BlockId& id : ids) {
    if (id.is_marker() || !m_index.find(id, loc)) continue;
    if (open && loc.pack == run.pack && loc.offset >= run.offset &&
        loc.offset <= run_end + (4u << 20)) {
      run_end = std::max<uint64_t>(run_end, loc.offset + record);
      continue;
    }
    flush();
    run = loc;
    run_end = loc.offset + record;
    open = true;
  }
  flush();
}

DamageSet BlockReader::found_damage() const {
  std::lock_guard lock(m_mutex);
  return m_found;
}

size_t BlockReader::fallbacks() const {
  std::lock_guard lock(m_mutex);
  return m_fallbacks;
}

std::string BlockReader::first_fallback() const {
  std::lock_guard lock(m_mutex);
  return m_first_fallback;
}

}  // namespace vssimg

namespace vssimg {

size_t report_reading(const Store& store, const BlockReader& reader, ProgressSink& progress) {
  record_found(store, reader, progress);
  const size_t fallbacks = reader.fallbacks();
  if (fallbacks) {
    progress.warning(fmt::format(
        "{} block(s) were read from another copy because the first copy tried is damaged "
        "(first: {}); the data read is intact; run vssimg verify --read-data, then vssimg prune",
        fallbacks, reader.first_fallback()));
  }
  return fallbacks;
}

void record_found(const Store& store, const BlockReader& reader, ProgressSink& progress) {
  try {
    const DamageSet found = reader.found_damage();
    if (found.empty()) return;
    record_damage(store.storage(), found);
  } catch (const std::exception& e) {
    progress.info(fmt::format("could not record the damage found: {}", e.what()));
  }
}

}  // namespace vssimg
