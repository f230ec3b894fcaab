#include "image/restore.hpp"

#include "core/buffer.hpp"
#include "core/error.hpp"
#include "core/file.hpp"
#include "core/pipeline.hpp"
#include "core/platform.hpp"
#include "image/block_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <system_error>

namespace vssimg {

namespace {

constexpr size_t k_batch_bytes = 4u << 20;     // a job writes this much at once at most
constexpr size_t k_buffer_budget = 96u << 20;  // all jobs' buffers together

struct Job {
  uint64_t first_block = 0;
  uint32_t count = 0;
  AlignedBuffer data;
  std::vector<uint8_t> scratch;
};

File open_target(const std::filesystem::path& target, uint64_t size, const RestoreOptions& options,
                 bool& created, bool& is_device) {
  const std::string name = target.string();
  TargetInfo info = inspect_target(target);
  created = false;
  is_device = info.is_device;
  if (info.is_directory) throw Error(ErrorKind::usage, "restoring to", name, "is a directory");
  if (info.is_device) {
    if (info.is_mounted) {
      throw Error(ErrorKind::usage, "restoring to", name, "device is mounted; unmount it first");
    }
    if (!options.force) {
      throw Error(ErrorKind::usage, "restoring to", name,
                  "is a device; add --force to overwrite its contents");
    }
    if (info.device_size && info.device_size < size) {
      throw Error(ErrorKind::usage, "restoring to", name,
                  fmt::format("device holds {} bytes, the point needs {}", info.device_size, size));
    }
    return File(target, File::Open::read_write);
  }
  if (info.exists) {
    if (!options.force) {
      throw Error(ErrorKind::usage, "restoring to", name,
                  "file exists; add --force to overwrite it");
    }
    File f(target, File::Open::read_write);
    f.resize(0);  // so that skipped blocks become holes, not stale data
    return f;
  }
  File f(target, File::Open::create_new);
  created = true;
  return f;
}

}  // namespace

RestoreStats run_restore(const Store& store, const Point& point,
                         const std::filesystem::path& target, const RestoreOptions& options,
                         ProgressSink& progress) {
  const double started = monotonic_seconds();
  const uint32_t bs = store.block_size();
  const uint64_t size = point.source_size();
  const uint64_t nblocks = point.map.size();
  if ((size + bs - 1) / bs != nblocks) {
    throw Error(ErrorKind::damage, "reading", "point " + point.id,
                "source size does not match the block map");
  }
  std::vector<std::string> problems;
  BlockIndex index = store.load_index(&problems);
  for (const auto& p : problems) progress.warning(p);
  BlockReader reader(store, index);

  bool created = false, is_device = false;
  File out = open_target(target, size, options, created, is_device);
  RestoreStats stats;
  stats.bytes_total = size;

  const unsigned threads = options.threads ? options.threads : hardware_threads();
  const PipelineShape shape =
      pipeline_shape(threads, bs, std::max<size_t>(1, k_batch_bytes / bs), k_buffer_budget);
  const uint32_t per_batch = static_cast<uint32_t>(shape.units_per_job);
  OrderedPipeline<Job> pipeline(shape.slots, [&] {
    Job j;
    j.data = AlignedBuffer(size_t{per_batch} * bs);
    return j;
  });
  auto block_len = [&](uint64_t b) {
    return static_cast<uint32_t>(std::min<uint64_t>(bs, size - b * bs));
  };
  // Whether block b is written: data always; zeros on a device (it holds old data);
  // FREE on a device only with --zero-free; never for a fresh (sparse) file.
  auto writes = [&](const BlockId& id) {
    if (!id.is_marker() || id.is_unreadable()) return true;
    if (!is_device) return false;
    return id.is_zero() || options.zero_free;
  };

  uint64_t next = 0;
  auto produce = [&](Job& job) {
    check_interrupted();
    if (next >= nblocks) return false;
    job.first_block = next;
    job.count = static_cast<uint32_t>(std::min<uint64_t>(per_batch, nblocks - next));
    next += job.count;
    return true;
  };
  auto process = [&](Job& job) {
    for (uint32_t i = 0; i < job.count; ++i) {
      uint64_t b = job.first_block + i;
      const BlockId& id = point.map[b];
      uint8_t* dst = job.data.data() + size_t{i} * bs;
      if (id.is_marker()) {
        if (writes(id)) std::fill(dst, dst + block_len(b), uint8_t{0});
        continue;
      }
      try {
        uint32_t len = reader.read(id, dst, job.scratch);
        if (len != block_len(b)) {
          throw Error(ErrorKind::damage, "reading", "block " + id.hex(),
                      fmt::format("holds {} bytes, the map needs {}", len, block_len(b)));
        }
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::store_not_found) throw;  // a pack of a newer format (exit 10)
        throw Error(ErrorKind::damage, "restoring",
                    fmt::format("point {} at volume offset {}", point.id, b * bs), e.what());
      }
    }
  };
  uint64_t done = 0;
  progress.begin("restore", size);
  auto consume = [&](Job& job) {
    for (uint32_t i = 0; i < job.count;) {
      uint64_t b = job.first_block + i;
      if (!writes(point.map[b])) {
        stats.bytes_sparse += block_len(b);
        ++i;
        continue;
      }
      uint32_t j = i;
      uint64_t run = 0;
      while (j < job.count && writes(point.map[job.first_block + j])) {
        const BlockId& id = point.map[job.first_block + j];
        uint32_t len = block_len(job.first_block + j);
        run += len;
        if (id.is_unreadable())
          stats.bytes_unreadable += len;
        else if (id.is_marker())
          stats.bytes_sparse += len;
        else
          stats.bytes_written += len;
        ++j;
      }
      out.write_at(job.data.data() + size_t{i} * bs, static_cast<size_t>(run), b * bs);
      i = j;
    }
    for (uint32_t i = 0; i < job.count; ++i) done += block_len(job.first_block + i);
    progress.update(done);
  };
  try {
    pipeline.run(threads, produce, process, consume);
    check_interrupted();
    if (!is_device) out.resize(size);
    out.sync();
    out.close();
  } catch (...) {
    if (created) {
      out = File();
      std::error_code ec;
      std::filesystem::remove(target, ec);
    }
    throw;
  }
  progress.end();
  if (stats.bytes_unreadable) {
    progress.warning(
        fmt::format("{} bytes were unreadable at backup time and were restored as zeros",
                    stats.bytes_unreadable));
  }
  stats.seconds = monotonic_seconds() - started;
  return stats;
}

}  // namespace vssimg
