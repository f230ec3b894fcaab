#include "image/backup.hpp"

#include "core/base/buffer.hpp"
#include "core/base/codec.hpp"
#include "core/base/error.hpp"
#include "core/base/pipeline.hpp"
#include "core/os/platform.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <shared_mutex>

namespace vssimg {

namespace {

enum class Kind : uint8_t { data, zero, free_, unreadable };

constexpr size_t k_batch_bytes = 4u << 20;     // a job covers this much at most
constexpr size_t k_buffer_budget = 96u << 20;  // all jobs' buffers together
constexpr int k_read_attempts = 3;

struct Job {
  uint64_t first_block = 0;
  uint32_t count = 0;
  AlignedBuffer data;
  AlignedBuffer packed;
  std::vector<Kind> kind;
  std::vector<BlockId> ids;
  std::vector<uint8_t> is_new;
  std::vector<uint32_t> stored_len;
  std::vector<Codec> codec;
  std::vector<uint32_t> len;
  std::vector<std::string> warnings;  // bad sectors recorded as unreadable, in volume order
  std::exception_ptr error;           // a read that failed for good; raised in volume order
};

// Loads the newest point of the same source as the comparison base, keeping only the
// ids the index still has (a damaged index must not make us reference lost blocks).
std::vector<BlockId> load_parent(const Store& store, const std::string& source_label,
                                 const BlockIndex& index, std::string& parent_id,
                                 ProgressSink& progress) {
  std::vector<BlockId> map;
  std::string id;
  try {
    id = store.resolve_point("latest", source_label);
  } catch (const Error&) {
    return map;  // first backup of this source
  }
  try {
    Point parent = store.load_point(id);
    size_t missing = 0;
    for (auto& b : parent.map) {
      if (!b.is_marker() && !index.contains(b)) {
        b = BlockId::unreadable_marker();  // never equal to a data id
        ++missing;
      }
    }
    if (missing) {
      progress.warning(
          fmt::format("parent point {} refers to {} blocks missing from the index; "
                      "they are stored again (run vssimg verify)",
                      id, missing));
    }
    parent_id = id;
    map = std::move(parent.map);
  } catch (const Error& e) {
    progress.warning(fmt::format("not comparing with parent point {}: {}", id, e.what()));
  }
  return map;
}

class PackSink {
 public:
  PackSink(const Store& store, BlockIndex& index, std::shared_mutex& index_mutex,
           size_t target_size, BackupStats& stats)
      : m_store(store),
        m_index(index),
        m_mutex(index_mutex),
        m_target(target_size),
        m_stats(stats),
        m_segments(store.root(), store.config().store_id) {}

  // Stores a block unless the store already has it.
  void store(const BlockId& id, Codec codec, const uint8_t* payload, uint32_t stored_len,
             uint32_t raw_len) {
    if (m_index.contains(id)) {  // only consumers write, one at a time: no lock to read
      m_stats.index_reused_bytes += raw_len;
      return;
    }
    if (!m_writer) {
      m_writer = std::make_unique<PackWriter>(m_store.root(), m_store.config().store_id);
      m_ordinal = m_index.add_pack(m_writer->id());
    }
    const PackEntry& e = m_writer->add(id, codec, payload, stored_len, raw_len);
    {
      std::unique_lock lock(m_mutex);
      m_index.insert(id, BlockLocation{m_ordinal, e.offset});
    }
    m_stats.new_bytes += raw_len;
    m_stats.new_stored_bytes += stored_len;
    ++m_stats.new_blocks;
    if (m_writer->size() >= m_target) commit_pack();
  }

  void finish() {
    commit_pack();
    m_segments.flush();
  }

  // After a failure: index the packs already committed so the next backup reuses them.
  // Best effort; the uncommitted pack is dropped with its temporary file.
  void checkpoint_after_failure() noexcept {
    try {
      m_writer.reset();
      m_segments.flush();
    } catch (...) {
    }
  }

 private:
  void commit_pack() {
    if (!m_writer) return;
    auto entries = m_writer->commit();
    m_segments.add(m_writer->id(), std::move(entries));
    m_writer.reset();
    ++m_stats.packs_written;
  }

  const Store& m_store;
  BlockIndex& m_index;
  std::shared_mutex& m_mutex;
  size_t m_target;
  BackupStats& m_stats;
  std::unique_ptr<PackWriter> m_writer;
  uint32_t m_ordinal = 0;
  SegmentBatcher m_segments;
};

}  // namespace

BackupResult run_backup(const Store& store, BlockSource& source, const BackupOptions& options,
                        ProgressSink& progress) {
  const double started = monotonic_seconds();
  const uint32_t bs = store.block_size();
  const uint64_t size = source.size();
  const uint64_t nblocks = (size + bs - 1) / bs;
  const std::string source_label =
      options.source_label.empty() ? source.name() : options.source_label;
  if (source.alignment() > bs || bs % source.alignment() != 0) {
    throw Error("backing up", source_label, "sector size does not divide the block size");
  }
  store.clean_tmp();

  BackupResult result;
  BackupStats& stats = result.stats;
  stats.source_size = size;
  stats.blocks = nblocks;

  std::vector<std::string> index_problems;
  BlockIndex index = store.load_index(&index_problems);
  for (const auto& p : index_problems) {
    progress.warning(p + " (skipped; its blocks are stored again)");
  }
  std::shared_mutex index_mutex;
  std::vector<BlockId> parent = load_parent(store, source_label, index, result.parent_id, progress);

  Point point;
  point.id = new_point_id();
  point.block_size = bs;
  point.map.resize(static_cast<size_t>(nblocks));

  const unsigned threads = options.threads ? options.threads : hardware_threads();
  const size_t bound = compress_bound(bs);
  // Each block in flight needs its read buffer and room for its compressed form.
  const PipelineShape shape = pipeline_shape(
      threads, size_t{bs} + bound, std::max<size_t>(1, k_batch_bytes / bs), k_buffer_budget);
  const uint32_t per_batch = static_cast<uint32_t>(shape.units_per_job);
  OrderedPipeline<Job> pipeline(shape.slots, [&] {
    Job j;
    j.data = AlignedBuffer(size_t{per_batch} * bs);
    j.packed = AlignedBuffer(size_t{per_batch} * bound);
    j.kind.resize(per_batch);
    j.ids.resize(per_batch);
    j.is_new.resize(per_batch);
    j.stored_len.resize(per_batch);
    j.codec.resize(per_batch);
    j.len.resize(per_batch);
    return j;
  });

  uint64_t next_block = 0;
  auto block_len = [&](uint64_t b) {
    return static_cast<uint32_t>(std::min<uint64_t>(bs, size - b * bs));
  };

  // Reads one block with retries; false if it stays unreadable.
  auto read_block_retrying = [&](Job& job, uint8_t* dst, uint64_t b) {
    for (int attempt = 1;; ++attempt) {
      try {
        source.read_at(dst, block_len(b), b * bs);
        return true;
      } catch (const Error& e) {
        if (attempt < k_read_attempts) continue;
        if (!options.ignore_bad_sectors) {
          throw Error(
              "reading", fmt::format("{} at offset {}", source_label, b * bs),
              fmt::format("{} (after {} attempts; --ignore-bad-sectors records it as unreadable)",
                          e.cause(), k_read_attempts));
        }
        job.warnings.push_back(fmt::format("reading {} at offset {}: {}; recorded as unreadable",
                                           source_label, b * bs, e.cause()));
        return false;
      }
    }
  };

  // The producer only hands out block ranges (and which blocks the filesystem uses), so
  // it runs ahead of the workers and its read-ahead hints reach the kernel early; the
  // workers read, so reading is spread over all threads like hashing and compressing.
  auto produce = [&](Job& job) {
    check_interrupted();
    if (next_block >= nblocks) return false;
    job.first_block = next_block;
    job.count = static_cast<uint32_t>(std::min<uint64_t>(per_batch, nblocks - next_block));
    next_block += job.count;
    uint64_t used = 0;
    for (uint32_t i = 0; i < job.count; ++i) {
      uint64_t b = job.first_block + i;
      job.len[i] = block_len(b);
      bool in_use = !options.allocation || options.allocation->any_used(b * bs, job.len[i]);
      job.kind[i] = in_use ? Kind::data : Kind::free_;
      if (in_use) used += job.len[i];
    }
    if (used) source.will_read(job.first_block * bs, uint64_t{job.count} * bs);
    return true;
  };

  // Reads the run of used blocks that starts at block i of the job with one call (large
  // reads: on Windows, devices are read unbuffered, without the kernel's read-ahead) and
  // returns where it ends. Reading 256 KiB at a time instead, to keep each block in the
  // core's cache until it is hashed, measured no faster here (docs/benchmarks.md).
  auto read_run = [&](Job& job, uint32_t i) {
    uint32_t j = i;
    uint64_t run = 0;
    while (j < job.count && job.kind[j] == Kind::data) run += job.len[j++];
    try {
      source.read_at(job.data.data() + size_t{i} * bs, static_cast<size_t>(run),
                     (job.first_block + i) * bs);
    } catch (const Error&) {
      for (uint32_t k = i; k < j; ++k) {
        if (!read_block_retrying(job, job.data.data() + size_t{k} * bs, job.first_block + k)) {
          job.kind[k] = Kind::unreadable;
        }
      }
    }
    return j;
  };

  const BlockHasher& hasher = store.hasher();
  // Zero check, id, parent and index lookups, and compression of new blocks.
  auto process_block = [&](Job& job, uint32_t i) {
    job.is_new[i] = 0;
    if (job.kind[i] != Kind::data) return;
    const uint8_t* block = job.data.data() + size_t{i} * bs;
    if (is_all_zero(block, job.len[i])) {
      job.kind[i] = Kind::zero;
      return;
    }
    BlockId id = hasher.hash(block, job.len[i]);
    job.ids[i] = id;
    uint64_t b = job.first_block + i;
    if (b < parent.size() && parent[b] == id) return;
    {
      std::shared_lock lock(index_mutex);
      if (index.contains(id)) return;
    }
    uint8_t* out = job.packed.data() + size_t{i} * bound;
    size_t n = lz4_compress(block, job.len[i], out, bound);
    job.codec[i] = n ? Codec::lz4 : Codec::raw;
    job.stored_len[i] = n ? static_cast<uint32_t>(n) : job.len[i];
    job.is_new[i] = 1;
  };
  auto process = [&](Job& job) {
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
  };

  PackSink sink(store, index, index_mutex, options.pack_target_size, stats);
  uint64_t done_bytes = 0;
  progress.begin("backup", size);
  auto consume = [&](Job& job) {
    for (const auto& w : job.warnings) progress.warning(w);
    if (job.error) std::rethrow_exception(job.error);
    for (uint32_t i = 0; i < job.count; ++i) {
      uint64_t b = job.first_block + i;
      uint32_t len = job.len[i];
      switch (job.kind[i]) {
        case Kind::free_:
          point.map[b] = BlockId::free_marker();
          stats.free_skipped_bytes += len;
          break;
        case Kind::zero:
          point.map[b] = BlockId::zero_marker();
          stats.zero_bytes += len;
          stats.bytes_read += len;
          break;
        case Kind::unreadable:
          point.map[b] = BlockId::unreadable_marker();
          stats.unreadable_bytes += len;
          result.unreadable_offsets.push_back(b * bs);
          break;
        case Kind::data:
          point.map[b] = job.ids[i];
          stats.bytes_read += len;
          if (job.is_new[i]) {
            const uint8_t* payload = job.codec[i] == Codec::lz4
                                         ? job.packed.data() + size_t{i} * bound
                                         : job.data.data() + size_t{i} * bs;
            sink.store(job.ids[i], job.codec[i], payload, job.stored_len[i], len);
          } else if (b < parent.size() && parent[b] == job.ids[i]) {
            stats.parent_reused_bytes += len;
          } else {
            stats.index_reused_bytes += len;
          }
          break;
      }
      done_bytes += len;
    }
    progress.update(done_bytes);
  };

  try {
    pipeline.run(threads, produce, process, consume);
    check_interrupted();
  } catch (...) {
    sink.checkpoint_after_failure();
    throw;
  }
  sink.finish();
  progress.end();
  // Neither is needed to write the point: at 256 KiB blocks a 4 TB volume's parent map is
  // 256 MiB and a 4 TB store's index 0.5 GiB, so the point's encoding does not add to them.
  std::vector<BlockId>().swap(parent);
  index = BlockIndex();

  stats.seconds = monotonic_seconds() - started;
  PointMeta& m = point.meta;
  m = options.extra;
  m.set("id", point.id);
  m.set("parent", result.parent_id);
  m.set_int("created", now_unix());
  // Orders points made within the same second (backups are serialised by the writer lock).
  int64_t sequence = 0;
  for (const auto& info : store.list_points())
    sequence = std::max(sequence, info.meta.get_int("sequence"));
  m.set_int("sequence", sequence + 1);
  m.set("label", options.label);
  m.set("host", host_name());
  m.set("source", source_label);
  m.set_int("source_size", static_cast<int64_t>(size));
  m.set("filesystem", options.allocation ? options.allocation->filesystem() : "");
  m.set_int("used_bytes", static_cast<int64_t>(size - stats.free_skipped_bytes));
  m.set_int("free_skipped_bytes", static_cast<int64_t>(stats.free_skipped_bytes));
  m.set_int("zero_bytes", static_cast<int64_t>(stats.zero_bytes));
  m.set_int("unreadable_bytes", static_cast<int64_t>(stats.unreadable_bytes));
  m.set_int("new_bytes", static_cast<int64_t>(stats.new_bytes));
  m.set_int("new_stored_bytes", static_cast<int64_t>(stats.new_stored_bytes));
  m.set("duration_seconds", fmt::format("{:.3f}", stats.seconds));
  if (!m.has("consistency")) m.set("consistency", "image");
  store.commit_point(point);
  result.point_id = point.id;
  return result;
}

}  // namespace vssimg
