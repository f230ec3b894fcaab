#include "cli/exit_codes.hpp"

#include "core/os/platform.hpp"

namespace vssimg::cli {

int exit_code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::failure:
      return k_exit_failure;
    case ErrorKind::usage:
      return k_exit_usage;
    case ErrorKind::store_not_found:
      return k_exit_store_not_found;
    case ErrorKind::newer_format:
      return k_exit_store_not_found;
    case ErrorKind::store_locked:
      return k_exit_store_locked;
    case ErrorKind::damage:
      return k_exit_damage;
    case ErrorKind::vss:
      return k_exit_vss;
    case ErrorKind::privilege:
      return k_exit_privilege;
    case ErrorKind::key_refused:
      return k_exit_key_refused;
    case ErrorKind::interrupted:
      return interrupt_signal() == InterruptSignal::terminate ? k_exit_terminated
                                                              : k_exit_interrupted;
  }
  return k_exit_failure;
}

int exit_code_for_warnings(size_t warning_count) {
  return warning_count ? k_exit_warnings : k_exit_ok;
}

std::string exit_code_table() {
  return "Exit codes:\n"
         "  0    success\n"
         "  1    failure not covered below\n"
         "  2    usage error (bad flags or arguments)\n"
         "  3    done with warnings (point written, but e.g. a VSS writer failed or bad sectors "
         "were skipped)\n"
         "  10   store not found / not a store / newer format\n"
         "  11   store locked by another process\n"
         "  12   verify found damage (or damage stopped the command)\n"
         "  13   VSS failed (snapshot not created)\n"
         "  14   not elevated / insufficient privileges\n"
         "  15   encrypted store: no password given, or wrong password\n"
         "  130  interrupted (Ctrl+C; on Windows also Ctrl+Break, console closed, logoff, "
         "shutdown); nothing committed is lost\n"
         "  143  terminated (SIGTERM, e.g. systemd stop or kill); nothing committed is lost\n"
         "Treat any other code as failure.\n";
}

}  // namespace vssimg::cli
