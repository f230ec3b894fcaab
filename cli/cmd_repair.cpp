#include "cli/lock_options.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "image/lock.hpp"
#include "image/repair.hpp"

#include <fmt/format.h>

namespace vssimg::cli {

namespace {
int run_repair_index(Context& ctx) {
  Store store(ctx.store_path());
  StoreLock lock(store.storage(), LockMode::exclusive, WriterLock::exclusive, "repair index",
                 lock_options(ctx, StoreAccess::write));
  ctx.out->log(fmt::format("repair index of {} started", store.storage().location()));
  RepairIndexResult r = repair_index(store, ctx.out->progress());
  for (const auto& p : r.problems) ctx.out->warning(p);
  ctx.out->text(fmt::format(
      "rebuilt the index from {} packs: {} blocks in {} segments ({} packs scanned "
      "record by record, {} skipped); {} old segments replaced",
      r.packs, r.blocks, r.new_segments, r.packs_scanned, r.packs_skipped, r.old_segments));
  ctx.summary.add("packs", static_cast<uint64_t>(r.packs))
      .add("blocks", r.blocks)
      .add("packs_scanned", static_cast<uint64_t>(r.packs_scanned))
      .add("packs_skipped", static_cast<uint64_t>(r.packs_skipped))
      .add("segments", static_cast<uint64_t>(r.new_segments));
  ctx.out->log(fmt::format("repair index: {} packs, {} blocks, {} problems", r.packs, r.blocks,
                           r.problems.size()));
  return exit_code_for_warnings(ctx.out->warning_count());
}
}  // namespace

void add_repair_command(CLI::App& app, CommandTable& table) {
  auto* sub = app.add_subcommand("repair", "Repair the store (exclusive lock)");
  sub->require_subcommand(1);
  auto* index = sub->add_subcommand(
      "index", "Rebuild the index segments from the packs (when the index is lost or damaged)");
  (void)index;
  table.add(sub, [](Context& ctx) { return run_repair_index(ctx); });
}

}  // namespace vssimg::cli
