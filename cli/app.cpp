#include "cli/context.hpp"
#include "cli/event_log.hpp"
#include "cli/exit_codes.hpp"
#include "cli/vss_flags.hpp"
#include "core/base/error.hpp"
#include "vss/vss.hpp"

#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <cstring>

namespace vssimg::cli {

namespace {

extern "C" void on_signal(int sig) {
  if (interrupt_requested()) {
    // Second Ctrl+C: stop now. Nothing committed is lost (commit order).
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  request_interrupt();
}

bool has_flag(int argc, char** argv, const char* flag) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], flag) == 0) return true;
  }
  return false;
}

// The arguments as typed, for the log's start line.
std::string command_line(int argc, char** argv) {
  std::string line = "vssimg";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    line += arg.find(' ') == std::string::npos && !arg.empty() ? " " + arg : " \"" + arg + "\"";
  }
  return line;
}

// A scheduled task with a mistyped flag must leave a trace in its log file too; the
// options were not parsed, so --log-file is looked up in the raw arguments.
void log_usage_error(int argc, char** argv, const std::string& command, const std::string& msg,
                     const JsonObject& summary) {
  GlobalOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--log-file" && i + 1 < argc)
      options.log_file = argv[i + 1];
    else if (arg.rfind("--log-file=", 0) == 0)
      options.log_file = arg.substr(11);
  }
  if (options.log_file.empty()) return;
  Output out(options);
  const std::string name = command.empty() ? "vssimg" : command;
  out.log(fmt::format("{} started: {}", name, command_line(argc, argv)));
  out.log(fmt::format("error (exit {}): {}", int{k_exit_usage}, msg));
  out.log(fmt::format("{} finished with exit code {}; summary {}", name, int{k_exit_usage},
                      summary.str()));
}

// --event-log: one event per run, Information / Warning (exit 3) / Error. A failure to
// write it is one warning line; it never changes the exit code. Written before the
// summary record so that the summary stays the last JSON line.
void write_run_event(Context& ctx, int code, const std::string& failure) {
  const EventLevel level = code == k_exit_ok         ? EventLevel::information
                           : code == k_exit_warnings ? EventLevel::warning
                                                     : EventLevel::error;
  std::string text = fmt::format("vssimg {} finished with exit code {}", ctx.command, code);
  if (!failure.empty()) text += "\r\nerror: " + failure;
  text += "\r\nsummary: " + ctx.summary.str();
  try {
    write_event(level, text);
  } catch (const Error& e) {
    ctx.out->warning(fmt::format("event log: {}", e.what()));
  }
}

}  // namespace

std::filesystem::path Context::store_path() const {
  if (global.store.empty()) {
    throw Error(ErrorKind::usage, "finding store", "",
                "no store given; use --store PATH or set VSSIMG_STORE");
  }
  return std::filesystem::path(global.store);
}

std::string normalize_source(const std::string& source) {
  if (vss::looks_like_volume(source)) return volume_label(source);  // "c:\" -> "C:", never a folder
  std::error_code ec;
  if (source.empty() || !std::filesystem::exists(source, ec)) return source;
  return std::filesystem::absolute(source, ec).lexically_normal().string();
}

int run_cli(int argc, char** argv) {
  Context ctx;
  CLI::App app{"vssimg: volume images into a deduplicating store, with VSS on Windows."};
  app.set_version_flag("--version", "vssimg 0.1.0 (store format 1)");
  app.require_subcommand(1);
  app.fallthrough();
  app.footer(exit_code_table());
  app.add_option("--store", ctx.global.store, "Store path (local or UNC); or set VSSIMG_STORE")
      ->envname("VSSIMG_STORE");
  app.add_flag("--json", ctx.global.json, "Results as JSON Lines on stdout (see docs/json.md)");
  app.add_option("--progress", ctx.global.progress,
                 "Progress on stderr: auto (only on a console), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_option("--log-file", ctx.global.log_file, "Append timestamped log lines to FILE");
  app.add_option("--threads", ctx.global.threads,
                 "Threads doing the work (default: all cores; 1 = one core)");
  app.add_flag("-q,--quiet", ctx.global.quiet, "No informational lines on stderr");
  app.add_flag(
      "--event-log", ctx.global.event_log,
      "Windows: also write one Application event per run (source vssimg; see vssimg eventlog)");

  CommandTable table;
  add_init_command(app, table);
  add_backup_command(app, table);
  add_list_command(app, table);
  add_show_command(app, table);
  add_verify_command(app, table);
  add_restore_command(app, table);
  add_repair_command(app, table);
  add_forget_command(app, table);
  add_prune_command(app, table);
  add_list_writers_command(app, table);
  add_snapshot_command(app, table);
  add_eventlog_command(app, table);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    std::fprintf(stderr, "vssimg: error: %s (see vssimg --help)\n", msg.c_str());
    std::string command;  // the subcommand, when CLI11 got that far
    for (auto& [sub, run] : table.entries) {
      if (sub->parsed()) command = sub->get_name();
    }
    JsonObject summary("summary");
    summary.add("command", command).add("exit_code", int{k_exit_usage}).add("exit_error", msg);
    log_usage_error(argc, argv, command, msg, summary);
    if (has_flag(argc, argv, "--json")) {
      std::printf("%s\n", JsonObject("error")
                              .add("message", msg)
                              .add("exit_code", int{k_exit_usage})
                              .str()
                              .c_str());
      std::printf("%s\n", summary.str().c_str());
    }
    return k_exit_usage;
  }

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  ctx.out = std::make_unique<Output>(ctx.global);
  int code = k_exit_failure;
  std::string failure;
  for (auto& [sub, run] : table.entries) {
    if (!sub->parsed()) continue;
    ctx.command = sub->get_name();
    ctx.out->log(fmt::format("{} started: {}", ctx.command, command_line(argc, argv)));
    try {
      if (ctx.global.event_log && !event_log_available()) {
        throw Error(ErrorKind::usage, "--event-log", "", "the event log is Windows-only");
      }
      code = run(ctx);
    } catch (const Error& e) {
      code = exit_code_for(e.kind());
      failure = e.what();
      ctx.out->error(failure, code);
    } catch (const std::bad_alloc&) {
      code = k_exit_failure;
      failure = "out of memory";
      ctx.out->error(failure, code);
    } catch (const std::exception& e) {
      code = k_exit_failure;
      failure = std::string("internal error: ") + e.what();
      ctx.out->error(failure, code);
    }
    break;
  }
  if (failure.empty() && code != k_exit_ok && code != k_exit_warnings) {
    // A command that ends with a failure code without an exception (verify finding
    // damage): every failing run still ends with an error record and exit_error.
    failure = fmt::format("{}: {}", ctx.command,
                          code == k_exit_damage ? "damage found (see the damage reports above)"
                                                : fmt::format("failed with exit code {}", code));
    ctx.out->error(failure, code);
  }
  ctx.summary.add("command", ctx.command).add("exit_code", code);
  if (!failure.empty()) ctx.summary.add("exit_error", failure);
  if (ctx.global.event_log && event_log_available()) write_run_event(ctx, code, failure);
  ctx.out->record(ctx.summary);
  // The summary record in the log too: the same fields as docs/json.md, for every command.
  ctx.out->log(fmt::format("{} finished with exit code {}; summary {}", ctx.command, code,
                           ctx.summary.str()));
  return code;
}

}  // namespace vssimg::cli
