// Retention shared by `forget`, `prune` and `backup --keep-*` (cmd_forget.cpp,
// cmd_prune.cpp): applying a policy, running and reporting prune; the --keep-* flags
// (cli/keep_flags.hpp) come with it.
#pragma once

#include "cli/context.hpp"
#include "cli/keep_flags.hpp"
#include "image/prune.hpp"
#include "image/retention.hpp"
#include "image/store.hpp"

#include <string>

namespace vssimg::cli {

struct ForgetCounts {
  size_t kept = 0;
  size_t removed = 0;
};

// Applies `policy` to the points of every source (or only `source`, if not empty),
// deletes the points it does not keep unless `dry_run`, and reports each point (text,
// JSON `point` records, log). The caller holds the store lock exclusively.
ForgetCounts apply_policy(Context& ctx, const Store& store, const RetentionPolicy& policy,
                          const std::string& source, bool dry_run);

// Parses "50%", "50" (percent) into a fraction. Throws Error(usage).
double parse_repack_threshold(const std::string& text);

// Runs prune (the caller holds the store lock exclusively) and reports it: text, log,
// and the prune fields of the summary record.
PruneStats prune_and_report(Context& ctx, const Store& store, const PruneOptions& options);

}  // namespace vssimg::cli
