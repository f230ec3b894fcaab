#include "image/backup.hpp"

#include "core/base/buffer.hpp"
#include "core/base/codec.hpp"
#include "core/base/error.hpp"
#include "core/base/pipeline.hpp"
#include "core/os/platform.hpp"
#include "image/backup_parent.hpp"
#include "image/backup_sink.hpp"
#include "image/damage_blocks.hpp"
#include "image/point_map_stream.hpp"
#include "image/point_meta.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <shared_mutex>

namespace vssimg {

namespace {

enum class Kind : uint8_t { data, zero, hole, free_, unreadable };

constexpr size_t k_batch_bytes = 4u << 20;     // a job covers this much at most
constexpr size_t k_buffer_budget = 96u << 20;  // all jobs' buffers together
constexpr int k_read_attempts = 3;
constexpr uint64_t k_max_run = 65536;  // blocks of one run job (one map chunk)

struct Job {
  uint64_t first_block = 0;
  uint32_t count = 0;
  // A run job (count 0): run_blocks blocks from first_block, all FREE or all holes, which
  // no worker touches; one job instead of one per few MiB keeps a huge, mostly unused
  // volume from being a pipeline round trip per 4 MiB.
  uint64_t run_blocks = 0;
  Kind run_kind = Kind::free_;
  AlignedBuffer data;
  AlignedBuffer packed;
  std::vector<Kind> kind;
  std::vector<BlockId> ids;
  std::vector<BlockId> parent;  // the parent point's entries (UNREADABLE: none)
  std::vector<uint8_t> is_new;
  std::vector<uint32_t> stored_len;
  std::vector<Codec> codec;
  std::vector<uint32_t> len;
  std::vector<std::string> warnings;  // bad sectors recorded as unreadable, in volume order
  std::exception_ptr error;           // a read that failed for good; raised in volume order
};

// One backup. The producer only hands out block ranges (and which blocks the filesystem
// uses), so it runs ahead of the workers and its read-ahead hints reach the kernel early;
// each worker reads and processes its own job, so reading is spread over all threads
// like hashing and compressing; the worker that finishes the next job in volume order
// consumes it (the block map, new blocks into packs). A read error is raised only when
// its job's turn comes, so every block before it is stored and indexed by the checkpoint.
class BackupRun {
 public:
  BackupRun(const Store& store, BlockSource& source, const BackupOptions& options,
            ProgressSink& progress);
  BackupResult run();

 private:
  void load_comparison_base();
  void read_source();
  Job make_job() const;
  bool produce(Job& job);
  bool in_hole(uint64_t offset, uint32_t len);
  Kind kind_of(uint64_t b);
  bool produce_run(Job& job);
  void record_run(const Job& job);
  void process(Job& job);
  uint32_t read_run(Job& job, uint32_t i);
  bool read_block_retrying(Job& job, uint8_t* dst, uint64_t b);
  void process_block(Job& job, uint32_t i);
  void consume(Job& job);
  void record_block(const Job& job, uint32_t i);
  void commit_point();
  PointFacts point_facts() const;

  uint32_t block_len(uint64_t b) const {
    return static_cast<uint32_t>(std::min<uint64_t>(m_bs, m_size - b * m_bs));
  }

  const Store& m_store;
  BlockSource& m_source;
  const BackupOptions& m_options;
  ProgressSink& m_progress;
  const double m_started;
  const uint32_t m_bs;
  const uint64_t m_size;
  const uint64_t m_nblocks;
  const std::string m_source_label;
  const unsigned m_threads;
  const size_t m_bound;  // room for one block's compressed form
  const PipelineShape m_shape;
  const uint32_t m_per_batch;  // blocks per job
  const BlockHasher& m_hasher;

  BackupResult m_result;
  BlockIndex m_index;
  std::shared_mutex m_index_mutex;  // workers look up, the consumer inserts
  BlockIdSet m_unusable;            // indexed, no intact copy (guarded by m_index_mutex)
  BlockIdSet m_healed;              // of those, stored again by this backup
  ParentMap m_parent;               // the parent point's map, streamed by the producer
  Point m_point;                    // id and metadata; the map goes to m_map
  PointMapWriter m_map;             // the new point's map, written by the consumer
  PackSink m_sink;
  uint64_t m_next_block = 0;  // the producer's
  SourceRun m_run;            // the producer's: the source's run at its last block
  uint64_t m_done_bytes = 0;  // the consumer's
};

// Each block in flight needs its read buffer and room for its compressed form.
PipelineShape backup_shape(unsigned threads, uint32_t bs) {
  return pipeline_shape(threads, size_t{bs} + compress_bound(bs),
                        std::max<size_t>(1, k_batch_bytes / bs), k_buffer_budget);
}

BackupRun::BackupRun(const Store& store, BlockSource& source, const BackupOptions& options,
                     ProgressSink& progress)
    : m_store(store),
      m_source(source),
      m_options(options),
      m_progress(progress),
      m_started(monotonic_seconds()),
      m_bs(store.block_size()),
      m_size(source.size()),
      m_nblocks((m_size + m_bs - 1) / m_bs),
      m_source_label(options.source_label.empty() ? source.name() : options.source_label),
      m_threads(options.threads ? options.threads : hardware_threads()),
      m_bound(compress_bound(m_bs)),
      m_shape(backup_shape(m_threads, m_bs)),
      m_per_batch(static_cast<uint32_t>(m_shape.units_per_job)),
      m_hasher(store.hasher()),
      m_map(m_nblocks),
      m_sink(store, m_index, m_index_mutex, m_unusable, m_healed, options.pack_target_size,
             m_result.stats) {}

BackupResult BackupRun::run() {
  if (m_source.alignment() > m_bs || m_bs % m_source.alignment() != 0) {
    throw Error("backing up", m_source_label, "sector size does not divide the block size");
  }
  m_store.clean_tmp();
  m_result.stats.source_size = m_size;
  m_result.stats.blocks = m_nblocks;
  load_comparison_base();
  m_point.id = new_point_id();
  m_point.block_size = m_bs;
  read_source();
  m_parent.report(m_progress);
  m_parent = ParentMap();
  m_index = BlockIndex();  // not needed to write the point
  commit_point();
  m_result.points_whole_again = points_whole_again(m_store, m_healed, m_unusable, m_point.id);
  return std::move(m_result);
}

void BackupRun::load_comparison_base() {
  std::vector<std::string> index_problems;
  m_index = m_store.load_index(&index_problems);
  for (const auto& p : index_problems) {
    m_progress.warning(p + " (skipped; its blocks are stored again)");
  }
  DamageRecord damage = load_damage(m_store.storage());
  for (const auto& n : damage.notes) m_progress.info(n);
  m_unusable = unusable_blocks(m_index, damage.set, missing_packs(m_store, m_index));
  if (!m_unusable.empty()) {
    m_progress.info(
        fmt::format("{} block(s) of the store have no intact copy; those the source "
                    "still has are stored again",
                    m_unusable.size()));
  }
  m_parent = ParentMap::open(m_store, {m_source_label, backup_host(m_options.host)}, m_progress);
  m_result.parent_id = m_parent.id();
}

// Runs the pipeline to the end of the source. After a failure the packs committed so far
// are indexed before the error goes on.
void BackupRun::read_source() {
  OrderedPipeline<Job> pipeline(m_shape.slots, [this] { return make_job(); });
  m_progress.begin("backup", m_size);
  try {
    pipeline.run(
        m_threads, [this](Job& job) { return produce(job); }, [this](Job& job) { process(job); },
        [this](Job& job) { consume(job); });
    check_interrupted();
    m_sink.finish();  // every pack durable and indexed (a commit error is raised here)
  } catch (...) {
    m_sink.checkpoint_after_failure();
    throw;
  }
  m_progress.end();
}

Job BackupRun::make_job() const {
  Job j;
  j.data = AlignedBuffer(size_t{m_per_batch} * m_bs);
  j.packed = AlignedBuffer(size_t{m_per_batch} * m_bound);
  j.kind.resize(m_per_batch);
  j.ids.resize(m_per_batch);
  j.parent.resize(m_per_batch);
  j.is_new.resize(m_per_batch);
  j.stored_len.resize(m_per_batch);
  j.codec.resize(m_per_batch);
  j.len.resize(m_per_batch);
  return j;
}

bool BackupRun::produce(Job& job) {
  check_interrupted();
  if (m_next_block >= m_nblocks) return false;
  if (produce_run(job)) return true;
  job.first_block = m_next_block;
  job.count = static_cast<uint32_t>(std::min<uint64_t>(m_per_batch, m_nblocks - m_next_block));
  m_next_block += job.count;
  uint64_t used = 0;
  for (uint32_t i = 0; i < job.count; ++i) {
    uint64_t b = job.first_block + i;
    job.len[i] = block_len(b);
    job.kind[i] = kind_of(b);
    job.parent[i] = BlockId::unreadable_marker();
    if (job.kind[i] != Kind::data) continue;
    used += job.len[i];
    job.parent[i] = m_parent.at(b, m_index, m_unusable, m_index_mutex);
  }
  if (used) m_source.will_read(job.first_block * m_bs, uint64_t{job.count} * m_bs);
  return true;
}

// FREE (the filesystem does not use it), a hole of the source, or data to read.
Kind BackupRun::kind_of(uint64_t b) {
  const uint32_t len = block_len(b);
  if (m_options.allocation && !m_options.allocation->any_used(b * m_bs, len)) return Kind::free_;
  return in_hole(b * m_bs, len) ? Kind::hole : Kind::data;
}

// A run job of the FREE or hole blocks from the producer's position, if it has any.
bool BackupRun::produce_run(Job& job) {
  job.run_blocks = 0;
  const Kind k = kind_of(m_next_block);
  if (k == Kind::data) return false;
  uint64_t n = 1;
  while (n < k_max_run && m_next_block + n < m_nblocks && kind_of(m_next_block + n) == k) ++n;
  job.first_block = m_next_block;
  job.count = 0;
  job.run_blocks = n;
  job.run_kind = k;
  m_next_block += n;
  return true;
}

// True if [offset, offset+len) lies in a hole of the source (read as zeros, never written).
// The producer asks in increasing order, so the run of the last answer is reused until
// an offset lies past it: one question per run, or per block where runs are shorter.
bool BackupRun::in_hole(uint64_t offset, uint32_t len) {
  if (offset >= m_run.end) m_run = m_source.run_at(offset);
  return m_run.hole && m_run.end >= offset + len;
}

void BackupRun::process(Job& job) {
  job.warnings.clear();
  job.error = nullptr;
  for (uint32_t i = 0; i < job.count;) {
    uint32_t end = i + 1;
    if (job.kind[i] == Kind::data) {
      try {
        end = read_run(job, i);
      } catch (...) {
        // Raised by the consumer when it reaches this job, so that every block before
        // it is stored (and indexed by the checkpoint) as if the volume ended there.
        job.error = std::current_exception();
        return;
      }
    }
    for (; i < end; ++i) process_block(job, i);
  }
}

// Reads the run of used blocks that starts at block i of the job with one call (large
// reads: on Windows, devices are read unbuffered, without the kernel's read-ahead) and
// returns where it ends. Reading 256 KiB at a time instead, to keep each block in the
// core's cache until it is hashed, measured no faster here (docs/benchmarks.md).
uint32_t BackupRun::read_run(Job& job, uint32_t i) {
  uint32_t j = i;
  uint64_t run = 0;
  while (j < job.count && job.kind[j] == Kind::data) run += job.len[j++];
  try {
    m_source.read_at(job.data.data() + size_t{i} * m_bs, static_cast<size_t>(run),
                     (job.first_block + i) * m_bs);
  } catch (const Error&) {
    for (uint32_t k = i; k < j; ++k) {
      if (!read_block_retrying(job, job.data.data() + size_t{k} * m_bs, job.first_block + k)) {
        job.kind[k] = Kind::unreadable;
      }
    }
  }
  return j;
}

// Reads one block with retries; false if it stays unreadable.
bool BackupRun::read_block_retrying(Job& job, uint8_t* dst, uint64_t b) {
  for (int attempt = 1;; ++attempt) {
    try {
      m_source.read_at(dst, block_len(b), b * m_bs);
      return true;
    } catch (const Error& e) {
      if (attempt < k_read_attempts) continue;
      if (!m_options.ignore_bad_sectors) {
        throw Error("reading", fmt::format("{} at offset {}", m_source_label, b * m_bs),
                    fmt::format("{} (after {} attempts{})", e.cause(), k_read_attempts,
                                e.cause().find("changed while being read") != std::string::npos
                                    ? ""
                                    : "; --ignore-bad-sectors records it as unreadable"));
      }
      job.warnings.push_back(fmt::format("reading {} at offset {}: {}; recorded as unreadable",
                                         m_source_label, b * m_bs, e.cause()));
      return false;
    }
  }
}

// Zero check, id, parent and index lookups, and compression of new blocks.
void BackupRun::process_block(Job& job, uint32_t i) {
  job.is_new[i] = 0;
  if (job.kind[i] != Kind::data) return;
  const uint8_t* block = job.data.data() + size_t{i} * m_bs;
  if (is_all_zero(block, job.len[i])) {
    job.kind[i] = Kind::zero;
    return;
  }
  BlockId id = m_hasher.hash(block, job.len[i]);
  job.ids[i] = id;
  if (job.parent[i] == id) return;
  {
    std::shared_lock lock(m_index_mutex);
    if (m_index.contains(id) && !m_unusable.count(id)) return;
  }
  uint8_t* out = job.packed.data() + size_t{i} * m_bound;
  size_t n = lz4_compress(block, job.len[i], out, m_bound);
  job.codec[i] = n ? Codec::lz4 : Codec::raw;
  job.stored_len[i] = n ? static_cast<uint32_t>(n) : job.len[i];
  job.is_new[i] = 1;
}

void BackupRun::consume(Job& job) {
  for (const auto& w : job.warnings) m_progress.warning(w);
  if (job.error) std::rethrow_exception(job.error);
  for (uint32_t i = 0; i < job.count; ++i) {
    record_block(job, i);
    m_done_bytes += job.len[i];
  }
  if (job.run_blocks) record_run(job);
  m_progress.update(m_done_bytes);
}

void BackupRun::record_run(const Job& job) {
  const uint64_t bytes =
      std::min(m_size, (job.first_block + job.run_blocks) * m_bs) - job.first_block * m_bs;
  const bool free = job.run_kind == Kind::free_;
  for (uint64_t i = 0; i < job.run_blocks; ++i)
    m_map.add(free ? BlockId::free_marker() : BlockId::zero_marker());
  (free ? m_result.stats.free_skipped_bytes : m_result.stats.hole_skipped_bytes) += bytes;
  if (!free) m_result.stats.zero_bytes += bytes;
  m_done_bytes += bytes;
}

// Block i of the job into the point's map and the stats; a new block into a pack.
void BackupRun::record_block(const Job& job, uint32_t i) {
  BackupStats& stats = m_result.stats;
  const uint64_t b = job.first_block + i;
  const uint32_t len = job.len[i];
  switch (job.kind[i]) {
    case Kind::free_:
      m_map.add(BlockId::free_marker());
      stats.free_skipped_bytes += len;
      break;
    case Kind::zero:
      m_map.add(BlockId::zero_marker());
      stats.zero_bytes += len;
      stats.bytes_read += len;
      break;
    case Kind::hole:
      m_map.add(BlockId::zero_marker());
      stats.zero_bytes += len;
      stats.hole_skipped_bytes += len;
      break;
    case Kind::unreadable:
      m_map.add(BlockId::unreadable_marker());
      stats.unreadable_bytes += len;
      m_result.unreadable_offsets.push_back(b * m_bs);
      break;
    case Kind::data:
      m_map.add(job.ids[i]);
      stats.bytes_read += len;
      if (job.is_new[i]) {
        const uint8_t* payload = job.codec[i] == Codec::lz4
                                     ? job.packed.data() + size_t{i} * m_bound
                                     : job.data.data() + size_t{i} * m_bs;
        m_sink.store(job.ids[i], job.codec[i], payload, job.stored_len[i], len);
      } else if (job.parent[i] == job.ids[i]) {
        stats.parent_reused_bytes += len;
      } else {
        stats.index_reused_bytes += len;
      }
      break;
  }
}

void BackupRun::commit_point() {
  m_result.stats.seconds = monotonic_seconds() - m_started;
  m_point.meta = encode_point_meta(point_facts());
  m_map.commit(m_store.storage(), m_point.id, m_point.meta, m_bs);
  m_result.point_id = m_point.id;
}

PointFacts BackupRun::point_facts() const {
  const BackupStats& stats = m_result.stats;
  PointFacts f;
  f.id = m_point.id;
  f.parent = m_result.parent_id;
  f.created = now_unix();
  f.sequence = m_store.next_sequence();  // orders points of one second, writers uncoordinated
  f.label = m_options.label;
  f.host = backup_host(m_options.host);
  f.source = m_source_label;
  f.source_size = m_size;
  f.filesystem = m_options.allocation ? m_options.allocation->filesystem() : "";
  f.free_skipped_bytes = stats.free_skipped_bytes;
  f.zero_bytes = stats.zero_bytes;
  f.unreadable_bytes = stats.unreadable_bytes;
  f.new_bytes = stats.new_bytes;
  f.new_stored_bytes = stats.new_stored_bytes;
  f.seconds = stats.seconds;
  f.excluded_bytes = m_options.excluded_bytes;
  f.snapshot = m_options.snapshot;
  return f;
}

}  // namespace

BackupResult run_backup(const Store& store, BlockSource& source, const BackupOptions& options,
                        ProgressSink& progress) {
  return BackupRun(store, source, options, progress).run();
}

}  // namespace vssimg
