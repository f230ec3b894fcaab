// The --keep-* flags of `forget` and `backup`: one set of flags, one policy they give.
#pragma once

#include "image/retention.hpp"

#include <CLI/CLI.hpp>

#include <string>

namespace vssimg::cli {

// The flag values as typed; parsed only when the command runs (policy_from_flags), so
// that a bad value is an error of the run, logged like every other.
struct KeepFlags {
  std::string last, hourly, daily, weekly, monthly, yearly, within;
};

// Adds --keep-last/-hourly/-daily/-weekly/-monthly/-yearly N and --keep-within DURATION.
void add_keep_flags(CLI::App* sub, KeepFlags& flags);
// The policy the flags give (empty when none was given). Throws Error(usage) naming the
// flag whose value is not a count ("7", "unlimited") or a --keep-within duration, and
// naming the flags when some were given but all are 0 (a count of 0 turns its rule off;
// a policy of rules that are all off would keep nothing).
RetentionPolicy policy_from_flags(const KeepFlags& flags);

}  // namespace vssimg::cli
