#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/parse.hpp"
#include "core/os/path.hpp"
#include "image/store.hpp"

#include <fmt/format.h>

namespace vssimg::cli {

namespace {
struct InitOptions {
  std::string block_size;
};

int run_init(Context& ctx, const InitOptions& opts) {
  auto path = ctx.store_path();
  const std::string name = path_to_utf8(path);
  uint64_t bs =
      opts.block_size.empty() ? k_default_block_size : parse_size(opts.block_size, "--block-size");
  if (!valid_block_size(bs)) {
    throw Error(ErrorKind::usage, "creating store", name,
                fmt::format("block size {} is not a power of two from 64K to 4M", bs));
  }
  Store::create(path, static_cast<uint32_t>(bs));
  Store store(path);
  ctx.out->text(fmt::format("created store {} (block size {})", name, human_bytes(bs)));
  ctx.out->log(fmt::format("init: created store {} (block size {})", name, bs));
  ctx.out->record(JsonObject("status").add("store", name).add("block_size", bs));
  ctx.summary.add("store", name).add("block_size", bs);
  return k_exit_ok;
}
}  // namespace

void add_init_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<InitOptions>();
  auto* sub = app.add_subcommand("init", "Create a new store");
  sub->add_option("--block-size", opts->block_size,
                  "Block size, a power of two from 64K to 4M (default 256K; 128K dedups better for "
                  "volumes up to ~2 TB)");
  table.add(sub, [opts](Context& ctx) { return run_init(ctx, *opts); });
}

}  // namespace vssimg::cli
