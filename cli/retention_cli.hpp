// Retention shared by `forget`, `prune` and `backup --keep-*` (cmd_forget.cpp,
// cmd_prune.cpp): applying a policy, running and reporting prune; the --keep-* flags
// (cli/keep_flags.hpp) come with it.
#pragma once

#include "cli/context.hpp"
#include "cli/keep_flags.hpp"
#include "image/point_select.hpp"
#include "image/prune.hpp"
#include "image/retention.hpp"
#include "image/store.hpp"

#include <string>

namespace vssimg::cli {

struct ForgetCounts {
  size_t kept = 0;
  size_t removed = 0;
};

// Applies `policy` to each group (`group_by`) of the points `filter` selects, deletes the
// points it does not keep unless `dry_run`, and reports each group and point (text, JSON
// `point` records, log). The caller holds the store lock exclusively.
ForgetCounts apply_policy(Context& ctx, const Store& store, const RetentionPolicy& policy,
                          const PointFilter& filter, RetentionGroupBy group_by, bool dry_run);

// The flags that tune prune, shared by `prune` and `forget --prune`, as given.
struct PruneFlags {
  std::string max_unused = "5%";
  std::string max_repack_size = "unlimited";
  std::string repack_threshold = "off";
};

// Adds --max-unused, --max-repack-size and --repack-threshold; `prefix` starts each help
// text (e.g. "With --prune: ").
void add_prune_flags(CLI::App* sub, PruneFlags& flags, const std::string& prefix);
// The prune options the flags give (dry_run left false). Throws Error(usage) naming the
// flag.
PruneOptions prune_options_from_flags(const PruneFlags& flags);

// Runs prune (the caller holds the store lock exclusively) and reports it: text, log,
// and the prune fields of the summary record.
PruneStats prune_and_report(Context& ctx, const Store& store, const PruneOptions& options);

}  // namespace vssimg::cli
