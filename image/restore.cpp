#include "image/restore.hpp"

#include "core/base/buffer.hpp"
#include "core/base/error.hpp"
#include "core/base/pipeline.hpp"
#include "core/os/platform.hpp"
#include "image/block_reader.hpp"
#include "image/damage.hpp"
#include "image/point_map_stream.hpp"
#include "image/restore_target.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>

namespace vssimg {

namespace {

constexpr size_t k_batch_bytes = 4u << 20;         // a job writes this much at once at most
constexpr size_t k_buffer_budget = 96u << 20;      // all jobs' buffers together
constexpr uint64_t k_writeback_bytes = 64u << 20;  // start writing back every 64 MiB

struct Job {
  uint64_t first_block = 0;
  uint32_t count = 0;
  std::vector<BlockId> ids;  // the point's map entries of the job's blocks
  AlignedBuffer data;
  std::vector<uint8_t> scratch;
};

// One restore of a point into an open target, as an ordered pipeline of jobs of
// consecutive blocks. The producer streams the point's map (one chunk in memory) and hands
// each job its blocks' entries, so memory does not grow with the volume. Workers decompress, check
// and write their own blocks: writes to distinct ranges need no order. The consumer only counts, in
// volume order, for the statistics, the progress line and early writeback.
//
// While the target takes direct writes (Linux, O_DIRECT), a worker writes a job's blocks
// once they are all decoded, a run of consecutive written blocks per write: nothing is
// copied into the page cache, so a restore neither evicts the recovery host's cache nor
// piles up gigabytes of dirty pages, and its speed does not depend on how costly fresh
// cache pages are (2-3x apart from one run to the next here, docs/benchmarks.md).
// Buffered writes (Windows, no O_DIRECT, or after a direct write failed) go one block at
// a time, right after decompressing it while it is in this core's cache; the kernel
// serialises writes to one file (a waiting writer spins), so a worker that finds another
// one writing decompresses its next block instead and writes its pending blocks later.
class RestoreRun {
 public:
  RestoreRun(const Store& store, PointMapReader& map, const BlockIndex& index,
             const DamageSet& known, RestoreTarget& target, const RestoreOptions& options)
      : m_id(map.info().id),
        m_map(map),
        m_reader(store, index, &known),
        m_target(target),
        m_zero_free(options.zero_free),
        m_ignore_damage(options.ignore_damage),
        m_bs(store.block_size()),
        m_size(static_cast<uint64_t>(map.info().meta.get_int("source_size"))),
        m_nblocks(map.info().block_count) {}

  // Runs the pipeline on `threads` workers; fills the byte counts of `stats`.
  void run(unsigned threads, RestoreStats& stats, ProgressSink& progress);
  const BlockReader& reader() const { return m_reader; }
  // The blocks written as zeros (ignore_damage), by offset.
  std::vector<RestoreDamage> damaged();

 private:
  uint32_t block_len(uint64_t b) const {
    return static_cast<uint32_t>(std::min<uint64_t>(m_bs, m_size - b * m_bs));
  }
  // Whether a block is written: data always; zeros on a device (it holds old data);
  // FREE on a device only with --zero-free; never for a fresh (sparse) file; everything
  // on a stream (it has no holes).
  bool writes(const BlockId& id) const {
    if (!id.is_marker() || id.is_unreadable() || m_target.is_stream()) return true;
    if (!m_target.is_device()) return false;
    return id.is_zero() || m_zero_free;
  }
  bool produce(Job& job);
  void process(Job& job);
  void consume(Job& job, RestoreStats& stats, ProgressSink& progress);
  // Fills slot `i` of the job: zeros for a marker, else the block read and checked.
  void decode(Job& job, uint32_t i);
  // Writes the job's blocks [from, upto) one by one (buffered writes).
  void write_blocks(Job& job, uint32_t from, uint32_t upto);
  // Writes all of the job's written blocks, one write per run of them (direct writes).
  void write_runs(Job& job);

  const std::string m_id;
  PointMapReader& m_map;                          // the producer's
  const std::vector<BlockId>* m_chunk = nullptr;  // the producer's: the map chunk in hand
  size_t m_in_chunk = 0;                          // and the next entry of it
  BlockReader m_reader;
  RestoreTarget& m_target;
  const bool m_zero_free;
  const bool m_ignore_damage;
  const uint32_t m_bs;
  const uint64_t m_size;
  const uint64_t m_nblocks;
  uint32_t m_per_batch = 0;
  uint64_t m_next = 0;     // producer: the first block of the next job
  uint64_t m_done = 0;     // consumer: bytes counted, in volume order
  uint64_t m_flushed = 0;  // consumer: bytes handed to start_writeback
  std::mutex m_write_mutex;
  std::mutex m_damage_mutex;  // guards m_damaged
  std::vector<RestoreDamage> m_damaged;
};

std::vector<RestoreDamage> RestoreRun::damaged() {
  std::lock_guard lock(m_damage_mutex);
  std::sort(m_damaged.begin(), m_damaged.end(),
            [](const RestoreDamage& a, const RestoreDamage& b) { return a.offset < b.offset; });
  return m_damaged;
}

void RestoreRun::run(unsigned threads, RestoreStats& stats, ProgressSink& progress) {
  const PipelineShape shape =
      pipeline_shape(threads, m_bs, std::max<size_t>(1, k_batch_bytes / m_bs), k_buffer_budget);
  m_per_batch = static_cast<uint32_t>(shape.units_per_job);
  OrderedPipeline<Job> pipeline(shape.slots, [&] {
    Job j;
    j.data = AlignedBuffer(size_t{m_per_batch} * m_bs);
    return j;
  });
  progress.begin("restore", m_size);
  pipeline.run(
      threads, [&](Job& job) { return produce(job); }, [&](Job& job) { process(job); },
      [&](Job& job) { consume(job, stats, progress); });
}

bool RestoreRun::produce(Job& job) {
  check_interrupted();
  if (m_next >= m_nblocks) return false;
  job.first_block = m_next;
  job.count = static_cast<uint32_t>(std::min<uint64_t>(m_per_batch, m_nblocks - m_next));
  m_next += job.count;
  job.ids.clear();
  while (job.ids.size() < job.count) {
    if (!m_chunk || m_in_chunk == m_chunk->size()) {
      m_chunk = &m_map.next_chunk();  // throws Error(damage) for a damaged chunk
      m_in_chunk = 0;
      if (m_chunk->empty())
        throw Error(ErrorKind::damage, "reading", "point " + m_id, "block map ends early");
    }
    const size_t n = std::min(job.count - job.ids.size(), m_chunk->size() - m_in_chunk);
    job.ids.insert(job.ids.end(), m_chunk->begin() + static_cast<std::ptrdiff_t>(m_in_chunk),
                   m_chunk->begin() + static_cast<std::ptrdiff_t>(m_in_chunk + n));
    m_in_chunk += n;
  }
  m_reader.prefetch(job.ids);  // an object store starts fetching the job's records now
  return true;
}

void RestoreRun::decode(Job& job, uint32_t i) {
  const uint64_t b = job.first_block + i;
  const BlockId& id = job.ids[i];
  uint8_t* dst = job.data.data() + size_t{i} * m_bs;
  if (id.is_marker()) {
    std::fill(dst, dst + block_len(b), uint8_t{0});
    return;
  }
  try {
    uint32_t len = m_reader.read(id, dst, job.scratch);
    if (len != block_len(b)) {
      throw Error(ErrorKind::damage, "reading", "block " + id.hex(),
                  fmt::format("holds {} bytes, the map needs {}", len, block_len(b)));
    }
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::newer_format) throw;  // a pack of a newer format (exit 10)
    if (m_ignore_damage) {
      std::fill(dst, dst + block_len(b), uint8_t{0});
      std::lock_guard lock(m_damage_mutex);
      m_damaged.push_back(RestoreDamage{b * m_bs, e.what()});
      return;
    }
    throw Error(ErrorKind::damage, "restoring",
                fmt::format("point {} at volume offset {}", m_id, b * m_bs), e.what());
  }
}

void RestoreRun::process(Job& job) {
  const bool direct = m_target.direct();
  uint32_t written = 0;  // buffered: blocks [0, written) of the job are written or skipped
  for (uint32_t i = 0; i < job.count; ++i) {
    if (!writes(job.ids[i])) continue;
    decode(job, i);
    if (direct) continue;
    std::unique_lock lock(m_write_mutex, std::try_to_lock);
    if (lock.owns_lock()) {
      write_blocks(job, written, i + 1);
      written = i + 1;
    }
  }
  if (direct) {
    write_runs(job);
    return;
  }
  std::lock_guard lock(m_write_mutex);
  write_blocks(job, written, job.count);
}

void RestoreRun::write_blocks(Job& job, uint32_t from, uint32_t upto) {
  for (uint32_t i = from; i < upto; ++i) {
    const uint64_t b = job.first_block + i;
    if (!writes(job.ids[i])) continue;
    m_target.write(job.data.data() + size_t{i} * m_bs, block_len(b), b * m_bs);
  }
}

void RestoreRun::write_runs(Job& job) {
  for (uint32_t i = 0; i < job.count;) {
    if (!writes(job.ids[i])) {
      ++i;
      continue;
    }
    uint32_t j = i;
    uint64_t run = 0;
    while (j < job.count && writes(job.ids[j])) run += block_len(job.first_block + j++);
    m_target.write(job.data.data() + size_t{i} * m_bs, static_cast<size_t>(run),
                   (job.first_block + i) * m_bs);
    i = j;
  }
}

void RestoreRun::consume(Job& job, RestoreStats& stats, ProgressSink& progress) {
  for (uint32_t i = 0; i < job.count; ++i) {
    const BlockId& id = job.ids[i];
    const uint32_t len = block_len(job.first_block + i);
    if (!writes(id) || (id.is_marker() && !id.is_unreadable()))
      stats.bytes_sparse += len;
    else if (id.is_unreadable())
      stats.bytes_unreadable += len;
    else
      stats.bytes_written += len;
    m_done += len;
  }
  // Every job up to this one is written: have the kernel start writing them to disk.
  if (m_done - m_flushed >= k_writeback_bytes) {
    m_target.start_writeback(m_flushed, m_done - m_flushed);
    m_flushed = m_done;
  }
  progress.update(m_done);
}

}  // namespace

namespace {
// What a finished restore says about damage: copies it stepped over, blocks it zeroed.
void report_damage(const Store& store, const RestoreRun& run, RestoreStats& stats,
                   ProgressSink& progress) {
  stats.fallbacks = report_reading(store, run.reader(), progress);
  for (const auto& d : stats.damaged) {
    progress.warning(fmt::format("volume offset {}: {}; written as zeros", d.offset, d.what));
  }
}
}  // namespace

RestoreStats run_restore(const Store& store, const std::string& point_id,
                         const std::filesystem::path& target, const RestoreOptions& options,
                         ProgressSink& progress) {
  const double started = monotonic_seconds();
  const uint32_t bs = store.block_size();
  const auto map = open_point_map(store, point_id);
  const uint64_t size = static_cast<uint64_t>(map->info().meta.get_int("source_size"));
  if ((size + bs - 1) / bs != map->info().block_count) {
    throw Error(ErrorKind::damage, "reading", "point " + point_id,
                "source size does not match the block map");
  }
  std::vector<std::string> problems;
  BlockIndex index = store.load_index(&problems);
  for (const auto& p : problems) progress.warning(p);
  const DamageRecord known = load_damage(store.storage());

  RestoreTarget out(target, size, options.force);  // removed again unless finished
  RestoreStats stats;
  stats.bytes_total = size;
  const unsigned threads = options.threads ? options.threads : hardware_threads();
  RestoreRun run(store, *map, index, known.set, out, options);
  try {
    run.run(threads, stats, progress);
    check_interrupted();
  } catch (...) {
    record_found(store, run.reader(), progress);
    throw;
  }
  out.finish(size);
  progress.end();
  stats.damaged = run.damaged();
  for (const auto& d : stats.damaged) {
    stats.bytes_damaged += std::min<uint64_t>(bs, size - d.offset);
  }
  report_damage(store, run, stats, progress);
  if (stats.bytes_unreadable) {
    progress.warning(
        fmt::format("{} bytes were unreadable at backup time and were restored as zeros",
                    stats.bytes_unreadable));
  }
  stats.bytes_unbuffered = out.bytes_unbuffered();
  stats.seconds = monotonic_seconds() - started;
  return stats;
}

}  // namespace vssimg
