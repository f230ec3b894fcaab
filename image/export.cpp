#include "image/export.hpp"

#include "core/base/buffer.hpp"
#include "core/base/error.hpp"
#include "core/base/pipeline.hpp"
#include "core/os/platform.hpp"
#include "image/block_reader.hpp"
#include "image/damage.hpp"
#include "image/export_plan.hpp"
#include "image/point_meta.hpp"
#include "image/restore_target.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace vssimg {

namespace {

constexpr size_t k_job_bytes = 4u << 20;           // a job holds this much at most
constexpr size_t k_buffer_budget = 96u << 20;      // all jobs' buffers together
constexpr uint64_t k_writeback_bytes = 64u << 20;  // start writing back every 64 MiB

class FileSink : public PositionedSink {
 public:
  FileSink(const std::filesystem::path& path, bool force) : m_target(path, 0, force) {}
  void write(const uint8_t* data, size_t len) override {
    write_at(data, len, m_pos);
    m_pos += len;
    written_up_to(m_pos);
  }
  void write_at(const uint8_t* data, size_t len, uint64_t offset) override {
    m_target.write(data, len, offset);
  }
  void written_up_to(uint64_t end) override {
    m_pos = std::max(m_pos, end);
    if (m_pos - m_flushed >= k_writeback_bytes) {
      m_target.start_writeback(m_flushed, m_pos - m_flushed);
      m_flushed = m_pos;
    }
  }
  void finish() override { m_target.finish(m_pos); }

 private:
  RestoreTarget m_target;
  uint64_t m_pos = 0;  // everything before it is written
  uint64_t m_flushed = 0;
};

struct Job {
  size_t first = 0;  // index into ExportLayout::present
  uint32_t count = 0;
  AlignedBuffer data;
  std::vector<uint8_t> scratch;
  std::vector<uint8_t> block;  // a store block that straddles two payload blocks
  uint64_t unreadable = 0;
};

// Copies the part of [from, from+len) (virtual offsets) that lies in [start, end).
void overlay(uint8_t* dst, uint64_t start, uint64_t end, const std::vector<uint8_t>& bytes,
             uint64_t from) {
  const uint64_t lo = std::max(start, from), hi = std::min(end, from + bytes.size());
  if (lo < hi) std::memcpy(dst + (lo - start), bytes.data() + (lo - from), hi - lo);
}

// One export of a point into a sink, on the ordered pipeline: workers fill jobs of
// consecutive present payload blocks (GPT tables, decoded blocks, zeros) and, into a
// positioned sink (a file), write them at their offsets; for a sequential sink (a pipe)
// the job next in file order is appended by whichever worker consumes it.
class ExportRun {
 public:
  ExportRun(BlockReader& reader, const Point& point, const ExportLayout& layout, ExportSink& sink)
      : m_point(point),
        m_reader(reader),
        m_layout(layout),
        m_sink(sink),
        m_positioned(dynamic_cast<PositionedSink*>(&sink)),
        m_bs(layout.geometry.block_size),
        m_primary(encode_gpt_primary(layout.disk)),
        m_backup(encode_gpt_backup(layout.disk)) {}

  void run(unsigned threads, ExportStats& stats, ProgressSink& progress);

 private:
  bool produce(Job& job);
  void fill(Job& job, uint32_t k);
  void fill_volume(Job& job, uint8_t* dst, uint64_t base, uint64_t from, uint64_t to);
  void decode(Job& job, uint64_t s, uint8_t* out);

  const Point& m_point;
  BlockReader& m_reader;
  const ExportLayout& m_layout;
  ExportSink& m_sink;
  PositionedSink* const m_positioned;  // null: append in order
  const uint32_t m_bs;
  const std::vector<uint8_t> m_primary;
  const std::vector<uint8_t> m_backup;
  uint32_t m_per_job = 1;
  size_t m_next = 0;
};

void ExportRun::run(unsigned threads, ExportStats& stats, ProgressSink& progress) {
  const PipelineShape shape =
      pipeline_shape(threads, m_bs, std::max<size_t>(1, k_job_bytes / m_bs), k_buffer_budget);
  m_per_job = static_cast<uint32_t>(shape.units_per_job);
  OrderedPipeline<Job> pipeline(shape.slots, [&] {
    Job j;
    j.data = AlignedBuffer(size_t{m_per_job} * m_bs);
    return j;
  });
  uint64_t done = m_layout.geometry.payload_start();
  pipeline.run(
      threads, [&](Job& job) { return produce(job); },
      [&](Job& job) {
        for (uint32_t k = 0; k < job.count; ++k) fill(job, k);
        if (m_positioned) {
          m_positioned->write_at(job.data.data(), size_t{job.count} * m_bs,
                                 m_layout.file_offset(job.first));
        }
      },
      [&](Job& job) {
        if (!m_positioned) m_sink.write(job.data.data(), size_t{job.count} * m_bs);
        stats.bytes_unreadable += job.unreadable;
        done += uint64_t{job.count} * m_bs;
        if (m_positioned) m_positioned->written_up_to(done);
        progress.update(done);
      });
}

bool ExportRun::produce(Job& job) {
  check_interrupted();
  if (m_next >= m_layout.present.size()) return false;
  job.first = m_next;
  job.count = static_cast<uint32_t>(std::min<size_t>(m_per_job, m_layout.present.size() - m_next));
  job.unreadable = 0;
  m_next += job.count;
  return true;
}

void ExportRun::fill(Job& job, uint32_t k) {
  uint8_t* dst = job.data.data() + size_t{k} * m_bs;
  const uint64_t start = m_layout.block_start(m_layout.present[job.first + k]);
  const uint64_t end = start + m_bs;
  const uint64_t vol_end = k_partition_offset + m_layout.volume_size;
  const uint64_t lo = std::max(start, k_partition_offset), hi = std::min(end, vol_end);
  // Outside the volume: zeros and the GPT tables.
  if (start < lo) std::memset(dst, 0, std::min(lo, end) - start);
  if (hi < end) {
    const uint64_t from = std::max(start, hi);
    std::memset(dst + (from - start), 0, end - from);
  }
  overlay(dst, start, end, m_primary, 0);
  overlay(dst, start, end, m_backup, m_layout.geometry.virtual_size - m_backup.size());
  if (lo < hi) fill_volume(job, dst, start - k_partition_offset, lo - start, hi - start);
}

// Fills dst[from, to) from the volume's store blocks. `base` is the volume offset of dst
// (modulo 2^64: it wraps below zero for the first payload block, and every use adds an
// offset of at least 1 MiB to it).
void ExportRun::fill_volume(Job& job, uint8_t* dst, uint64_t base, uint64_t from, uint64_t to) {
  const uint64_t sbs = m_layout.store_block;
  for (uint64_t s = (base + from) / sbs; s * sbs < base + to; ++s) {
    const uint64_t vs = s * sbs;
    const uint64_t len = std::min<uint64_t>(sbs, m_layout.volume_size - vs);
    const uint64_t lo = std::max(vs, base + from), hi = std::min(vs + len, base + to);
    uint8_t* out = dst + (lo - base);
    const BlockId& id = m_point.map[s];
    if (id.is_marker()) {
      std::memset(out, 0, hi - lo);
      if (id.is_unreadable()) job.unreadable += hi - lo;
    } else if (lo == vs && vs + sbs <= base + m_bs) {
      decode(job, s, out);  // a whole store block fits in the payload block: in place
    } else {
      job.block.resize(sbs);
      decode(job, s, job.block.data());
      std::memcpy(out, job.block.data() + (lo - vs), hi - lo);
    }
  }
}

void ExportRun::decode(Job& job, uint64_t s, uint8_t* out) {
  const BlockId& id = m_point.map[s];
  const uint64_t want =
      std::min<uint64_t>(m_layout.store_block, m_layout.volume_size - s * m_layout.store_block);
  try {
    const uint32_t len = m_reader.read(id, out, job.scratch);
    if (len != want) {
      throw Error(ErrorKind::damage, "reading", "block " + id.hex(),
                  fmt::format("holds {} bytes, the map needs {}", len, want));
    }
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::newer_format) throw;
    throw Error(ErrorKind::damage, "exporting",
                fmt::format("point {} at volume offset {}", m_point.id, s * m_layout.store_block),
                e.what());
  }
}

// The volume's first 4 KiB if its first block is data (to probe the filesystem).
std::vector<uint8_t> first_bytes(BlockReader& reader, uint32_t block_size, const Point& p) {
  if (p.map.empty() || p.map[0].is_marker() || p.source_size() < 4096) return {};
  std::vector<uint8_t> block(block_size), scratch;
  try {
    reader.read(p.map[0], block.data(), scratch);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::newer_format) throw;
    throw Error(ErrorKind::damage, "exporting", fmt::format("point {} at volume offset 0", p.id),
                e.what());
  }
  block.resize(4096);
  return block;
}

}  // namespace

std::unique_ptr<ExportSink> open_export_file(const std::filesystem::path& path, bool force) {
  const TargetInfo info = inspect_target(path);
  const std::string name = path.string();
  if (info.is_directory) throw Error(ErrorKind::usage, "exporting to", name, "is a directory");
  if (info.is_device)
    throw Error(ErrorKind::usage, "exporting to", name, "is a device; export writes a VHDX file");
  if (info.exists && !force)
    throw Error(ErrorKind::usage, "exporting to", name, "file exists; add --force to overwrite it");
  return std::make_unique<FileSink>(path, force);
}

ExportStats run_export(const Store& store, const Point& point, ExportSink& sink,
                       const ExportOptions& options, ProgressSink& progress) {
  const double started = monotonic_seconds();
  std::vector<std::string> problems;
  BlockIndex index = store.load_index(&problems);
  for (const auto& p : problems) progress.warning(p);
  const DamageRecord known = load_damage(store.storage());
  BlockReader reader(store, index, &known.set);

  const std::string fs = point.meta.get(point_key::k_filesystem);
  const std::vector<uint8_t> head4k =
      fs.empty() ? first_bytes(reader, store.block_size(), point) : std::vector<uint8_t>{};
  const Guid type = partition_type_for(fs, head4k.empty() ? nullptr : head4k.data());
  const ExportLayout layout = plan_export(point.map, store.block_size(), point.source_size(),
                                          options.block_size, type, point.id);
  ExportStats stats;
  stats.volume_bytes = point.source_size();
  stats.disk_bytes = layout.geometry.virtual_size;
  stats.file_bytes = layout.file_size;
  stats.block_size = layout.geometry.block_size;
  stats.blocks_present = layout.present.size();
  stats.blocks_zero = layout.zero_blocks;
  stats.blocks_absent = layout.absent_blocks;
  stats.partition_type = type == guid_from_string(gpt::k_linux_data) ? "linux-data" : "basic-data";

  progress.begin("export", layout.file_size);
  {
    const std::vector<uint8_t> head =
        encode_vhdx_head(layout.geometry, export_identity(point.id), layout.bat);
    AlignedBuffer buf(head.size());
    std::memcpy(buf.data(), head.data(), head.size());
    sink.write(buf.data(), buf.size());
  }
  progress.update(layout.geometry.payload_start());
  const unsigned threads = options.threads ? options.threads : hardware_threads();
  try {
    ExportRun(reader, point, layout, sink).run(threads, stats, progress);
    check_interrupted();
  } catch (...) {
    record_found(store, reader, progress);
    throw;
  }
  sink.finish();
  progress.end();
  stats.fallbacks = report_reading(store, reader, progress);
  if (stats.bytes_unreadable) {
    progress.warning(
        fmt::format("{} bytes were unreadable at backup time and were exported as zeros",
                    stats.bytes_unreadable));
  }
  stats.seconds = monotonic_seconds() - started;
  return stats;
}

}  // namespace vssimg
