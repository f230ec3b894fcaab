#include "cli/lock_options.hpp"
#include "cli/context.hpp"
#include "cli/point_flags.hpp"
#include "cli/exit_codes.hpp"
#include "cli/parse.hpp"
#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "image/export.hpp"
#include "image/lock.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vssimg::cli {

namespace {
struct ExportCommandOptions {
  std::string point;
  std::string target;
  PointFilterFlags filter;  // --source, --host
  std::string block_size;
  bool force = false;
};

// `-`: the VHDX goes to standard output, front to back.
class StdoutSink : public ExportSink {
 public:
  void write(const uint8_t* data, size_t len) override {
    if (std::fwrite(data, 1, len, stdout) != len) fail();
  }
  void finish() override {
    if (std::fflush(stdout) != 0) fail();
  }

 private:
  [[noreturn]] static void fail() {
    throw Error("writing the VHDX", "standard output", std::strerror(errno));
  }
};

uint32_t vhdx_block_size(const std::string& text) {
  if (text.empty()) return k_export_block_size;
  const uint64_t bs = parse_size(text, "--block-size");
  if (bs < (1u << 20) || bs > (256u << 20) || (bs & (bs - 1)) != 0) {
    throw Error(ErrorKind::usage, "--block-size", text,
                "a VHDX block is a power of two from 1M to 256M");
  }
  return static_cast<uint32_t>(bs);
}

std::unique_ptr<ExportSink> open_sink(Context& ctx, const std::string& target, bool force) {
  if (target != "-") return open_export_file(target, force);
  if (ctx.global.json)
    throw Error(ErrorKind::usage, "exporting", "-", "--json needs stdout, which carries the VHDX");
  binary_stdout("exporting to", "vssimg export POINT - > FILE.vhdx");
  return std::make_unique<StdoutSink>();
}

int run_export_command(Context& ctx, const ExportCommandOptions& opts) {
  ExportOptions eo;
  eo.block_size = vhdx_block_size(opts.block_size);
  eo.threads = ctx.global.threads;
  Store store(ctx.store_path());
  StoreLock lock(store.storage(), LockMode::shared, WriterLock::none, "export",
                 lock_options(ctx, StoreAccess::read));
  Point point = store.load_point(resolve_point(store, opts.point, point_filter(opts.filter)));
  std::unique_ptr<ExportSink> sink = open_sink(ctx, opts.target, opts.force);
  ctx.out->log(fmt::format("export of point {} to {} started", point.id, opts.target));
  ExportStats s = run_export(store, point, *sink, eo, ctx.out->progress());
  sink.reset();
  const std::string line = fmt::format(
      "exported point {} to {}: a {} disk ({} {} partition at 1 MiB) in a {} VHDX file "
      "({} blocks of {}: {} in the file, {} zero, {} not present) in {:.1f} s",
      point.id, opts.target, human_bytes(s.disk_bytes), human_bytes(s.volume_bytes),
      s.partition_type, human_bytes(s.file_bytes),
      s.blocks_present + s.blocks_zero + s.blocks_absent, human_bytes(s.block_size),
      s.blocks_present, s.blocks_zero, s.blocks_absent, s.seconds);
  if (opts.target == "-")
    ctx.out->info(line);  // stdout carries the VHDX
  else
    ctx.out->text(line);
  ctx.summary.add("point", point.id)
      .add("target", opts.target)
      .add("volume_bytes", s.volume_bytes)
      .add("disk_bytes", s.disk_bytes)
      .add("file_bytes", s.file_bytes)
      .add("block_size", uint64_t{s.block_size})
      .add("blocks_present", s.blocks_present)
      .add("blocks_zero", s.blocks_zero)
      .add("blocks_absent", s.blocks_absent)
      .add("bytes_unreadable", s.bytes_unreadable)
      .add("copies_fallen_back", s.fallbacks)
      .add("partition_type", s.partition_type)
      .add("seconds", s.seconds);
  ctx.out->log(fmt::format("export of point {} to {} done: {} bytes in {:.1f} s", point.id,
                           opts.target, s.file_bytes, s.seconds));
  return exit_code_for_warnings(ctx.out->warning_count());
}
}  // namespace

void add_export_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<ExportCommandOptions>();
  auto* sub = app.add_subcommand(
      "export", "Write a recovery point as a VHDX disk (GPT, the volume at 1 MiB) to attach");
  sub->add_option("point", opts->point, "Point id, unique prefix, or 'latest'")->required();
  sub->add_option("target", opts->target, "VHDX file to create, or - for standard output")
      ->required();
  add_point_filter_flags(sub, opts->filter, FilterUse::named);
  sub->add_option("--block-size", opts->block_size,
                  "VHDX block size, a power of two from 1M to 256M (default 1M)");
  sub->add_flag("--force", opts->force, "Overwrite an existing file");
  table.add(sub, [opts](Context& ctx) { return run_export_command(ctx, *opts); });
}

}  // namespace vssimg::cli
