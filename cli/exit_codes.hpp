// The exit-code table (PRODUCT.md). Codes are never reused; scripts treat unknown codes
// as failure.
#pragma once

#include "core/base/error.hpp"

#include <cstddef>
#include <string>

namespace vssimg::cli {

enum ExitCode : int {
  k_exit_ok = 0,
  k_exit_failure = 1,
  k_exit_usage = 2,
  k_exit_warnings = 3,
  k_exit_store_not_found = 10,
  k_exit_store_locked = 11,
  k_exit_damage = 12,
  k_exit_vss = 13,
  k_exit_privilege = 14,
  k_exit_key_refused = 15,
  k_exit_interrupted = 130,
  k_exit_terminated = 143,  // 128 + SIGTERM, as shells report a process the signal ended
};

// ErrorKind::interrupted is k_exit_terminated after SIGTERM (interrupt_signal()), else
// k_exit_interrupted.
int exit_code_for(ErrorKind kind);
// The code of a command that ran to its end: k_exit_warnings when it reported a warning
// (done, but e.g. a VSS writer failed or bad sectors were skipped), else k_exit_ok.
int exit_code_for_warnings(size_t warning_count);
// The table as text for --help and README.
std::string exit_code_table();

}  // namespace vssimg::cli
