#include "image/restore.hpp"

#include "core/base/buffer.hpp"
#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "core/base/pipeline.hpp"
#include "core/os/platform.hpp"
#include "image/block_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <system_error>

namespace vssimg {

namespace {

constexpr size_t k_batch_bytes = 4u << 20;         // a job writes this much at once at most
constexpr size_t k_buffer_budget = 96u << 20;      // all jobs' buffers together
constexpr uint64_t k_writeback_bytes = 64u << 20;  // start writing back every 64 MiB

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
  // Workers decompress, check and write their own blocks: writes to distinct ranges need
  // no order. The consumer only counts, in volume order, for the progress line.
  //
  // On Linux the blocks go to the target through a second, O_DIRECT handle, a run of
  // blocks per write: nothing is copied into the page cache, so a restore neither
  // evicts the recovery host's cache nor piles up gigabytes of dirty pages, and its speed
  // does not depend on how costly fresh cache pages are (2-3x apart from one run to the
  // next here, docs/benchmarks.md). Unaligned tails, and everything after a direct write
  // fails (e.g. a device whose sectors are larger than 4 KiB), go through the buffered
  // handle. Buffered writes (Windows, or no O_DIRECT) go one block at a time, right
  // after decompressing it while it is in this core's cache; the kernel serialises
  // writes to one file (a waiting writer spins), so a worker that finds another one
  // writing decompresses its next block instead and writes its pending blocks later.
  std::optional<File> direct = File::open_direct_write(target);
  std::atomic<bool> direct_ok{direct.has_value()};
  std::atomic<uint64_t> unbuffered{0};
  auto write_run = [&](const uint8_t* data, size_t len, uint64_t offset) {
    const size_t aligned = len / File::k_direct_alignment * File::k_direct_alignment;
    if (aligned && direct_ok.load(std::memory_order_relaxed) &&
        offset % File::k_direct_alignment == 0 &&
        reinterpret_cast<uintptr_t>(data) % File::k_direct_alignment == 0) {
      try {
        direct->write_at(data, aligned, offset);
        unbuffered += aligned;
        data += aligned;
        offset += aligned;
        len -= aligned;
      } catch (const Error&) {
        direct_ok = false;  // this write and all later ones go through the page cache
      }
    }
    if (len) out.write_at(data, len, offset);
  };
  std::mutex write_mutex;
  auto process = [&](Job& job) {
    const bool unbuffered_writes = direct_ok.load(std::memory_order_relaxed);
    uint32_t written = 0;  // blocks [0, written) of the job are written or skipped
    auto write_pending = [&](uint32_t upto) {
      for (; written < upto; ++written) {
        uint64_t b = job.first_block + written;
        if (!writes(point.map[b])) continue;
        write_run(job.data.data() + size_t{written} * bs, block_len(b), b * bs);
      }
    };
    for (uint32_t i = 0; i < job.count; ++i) {
      uint64_t b = job.first_block + i;
      const BlockId& id = point.map[b];
      if (!writes(id)) continue;
      uint8_t* dst = job.data.data() + size_t{i} * bs;
      if (id.is_marker()) {
        std::fill(dst, dst + block_len(b), uint8_t{0});
      } else {
        try {
          uint32_t len = reader.read(id, dst, job.scratch);
          if (len != block_len(b)) {
            throw Error(ErrorKind::damage, "reading", "block " + id.hex(),
                        fmt::format("holds {} bytes, the map needs {}", len, block_len(b)));
          }
        } catch (const Error& e) {
          if (e.kind() == ErrorKind::newer_format) throw;  // a pack of a newer format (exit 10)
          throw Error(ErrorKind::damage, "restoring",
                      fmt::format("point {} at volume offset {}", point.id, b * bs), e.what());
        }
      }
      if (unbuffered_writes) continue;
      std::unique_lock lock(write_mutex, std::try_to_lock);
      if (lock.owns_lock()) write_pending(i + 1);
    }
    if (!unbuffered_writes) {
      std::lock_guard lock(write_mutex);
      write_pending(job.count);
      return;
    }
    for (uint32_t i = 0; i < job.count;) {  // runs of written blocks, one write each
      if (!writes(point.map[job.first_block + i])) {
        ++i;
        continue;
      }
      uint32_t j = i;
      uint64_t run = 0;
      while (j < job.count && writes(point.map[job.first_block + j]))
        run += block_len(job.first_block + j++);
      write_run(job.data.data() + size_t{i} * bs, static_cast<size_t>(run),
                (job.first_block + i) * bs);
      i = j;
    }
  };
  uint64_t done = 0, flushed = 0;
  progress.begin("restore", size);
  auto consume = [&](Job& job) {
    for (uint32_t i = 0; i < job.count; ++i) {
      uint64_t b = job.first_block + i;
      const BlockId& id = point.map[b];
      uint32_t len = block_len(b);
      if (!writes(id) || (id.is_marker() && !id.is_unreadable()))
        stats.bytes_sparse += len;
      else if (id.is_unreadable())
        stats.bytes_unreadable += len;
      else
        stats.bytes_written += len;
      done += len;
    }
    // Every job up to this one is written: have the kernel start writing them to disk,
    // so that the flush at the end overlaps with the restore instead of following it.
    if (done - flushed >= k_writeback_bytes) {
      out.start_writeback(flushed, done - flushed);
      flushed = done;
    }
    progress.update(done);
  };
  try {
    pipeline.run(threads, produce, process, consume);
    check_interrupted();
    if (!is_device) out.resize(size);
    direct.reset();
    out.sync();  // flushes the file, whichever handle wrote it
    out.close();
  } catch (...) {
    direct.reset();
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
  stats.bytes_unbuffered = unbuffered.load();
  stats.seconds = monotonic_seconds() - started;
  return stats;
}

}  // namespace vssimg
