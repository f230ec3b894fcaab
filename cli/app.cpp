#include "cli/context.hpp"
#include "cli/event_log.hpp"
#include "cli/exit_codes.hpp"
#include "cli/password.hpp"
#include "cli/usage_hint.hpp"
#include "cli/vss_flags.hpp"
#include "core/base/error.hpp"
#include "core/os/platform.hpp"
#include "core/os/path.hpp"
#include "core/os/process.hpp"
#include "image/storage_open.hpp"
#include "image/store.hpp"
#include "vss/vss.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

namespace vssimg::cli {

std::filesystem::path Context::store_path() const {
  if (global.store.empty()) {
    throw Error(ErrorKind::usage, "finding store", "",
                "no store given; use --store PATH or set VSSIMG_STORE");
  }
  return path_from_utf8(global.store);
}

std::string normalize_source(const std::string& source) {
  if (vss::looks_like_volume(source)) return volume_label(source);  // "c:\" -> "C:", never a folder
  std::error_code ec;
  if (source.empty() || !std::filesystem::exists(path_from_utf8(source), ec)) return source;
  return path_to_utf8(std::filesystem::absolute(path_from_utf8(source), ec).lexically_normal());
}

namespace {

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

// The global options (into `global`) and every subcommand (into `table`).
void build_app(CLI::App& app, GlobalOptions& global, CommandTable& table) {
  app.set_version_flag("--version", "vssimg 0.1.0 (store format 1)");
  app.require_subcommand(1);
  app.fallthrough();
  app.footer(exit_code_table());
  // Read here rather than through CLI11's envname, which gets it in the ANSI code page.
  global.store = utf8_environment_variable("VSSIMG_STORE").value_or("");
  app.add_option("--store", global.store,
                 "Store path (local or UNC) or s3://BUCKET/PREFIX; or set VSSIMG_STORE");
  app.add_flag("--s3-path-style", global.s3_path_style,
               "S3: path-style URLs (the default when AWS_ENDPOINT_URL is set)");
  app.add_option("--password-file", global.password_file,
                 "Encrypted store: file whose first line is the password (else "
                 "VSSIMG_PASSWORD_FILE, a console prompt, or VSSIMG_PASSWORD)");
  app.add_option("--connections", global.connections,
                 "S3: transfers in parallel (pack uploads, reads ahead; default 4; 1-64)")
      ->check(CLI::Range(1u, 64u));
  app.add_flag("--json", global.json, "Results as JSON Lines on stdout (see docs/json.md)");
  app.add_option("--progress", global.progress,
                 "Progress on stderr: auto (only on a console), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_option("--log-file", global.log_file, "Append timestamped log lines to FILE");
  app.add_option("--threads", global.threads,
                 "Threads doing the work (default: all cores; 1 = one core)");
  app.add_flag("-q,--quiet", global.quiet, "No informational lines on stderr");
  app.add_option("--lock-wait", global.lock_wait,
                 "Wait this long for another process's store lock (seconds, or 5min, 1h; "
                 "default 5min; 0: refuse at once, exit 11)");
  app.add_flag(
      "--event-log", global.event_log,
      "Windows: also write one Application event per run (source vssimg; see vssimg eventlog)");

  add_init_command(app, table);
  add_backup_command(app, table);
  add_list_command(app, table);
  add_show_command(app, table);
  add_verify_command(app, table);
  add_restore_command(app, table);
  add_export_command(app, table);
  add_repair_command(app, table);
  add_forget_command(app, table);
  add_prune_command(app, table);
  add_heal_command(app, table);
  add_list_writers_command(app, table);
  add_snapshot_command(app, table);
  add_eventlog_command(app, table);
  add_ls_command(app, table);
  add_extract_command(app, table);
  add_mount_command(app, table);
  add_key_command(app, table);
  add_copy_command(app, table);
}

// A command line CLI11 refused: the message on stderr, the log file if one was named, and
// with --json an error and a summary record. Returns k_exit_usage.
int report_usage_error(int argc, char** argv, CLI::App& app, const CommandTable& table,
                       const std::string& cli11_message) {
  const UsageHint hint = explain_usage_error(app, cli11_message);
  const std::string& msg = hint.message;
  std::fprintf(stderr, "vssimg: error: %s (see %s)\n", msg.c_str(), hint.help.c_str());
  std::string command;  // the subcommand, when CLI11 got that far
  for (const auto& [sub, run] : table.entries) {
    if (sub->parsed()) command = sub->get_name();
  }
  JsonObject summary("summary");
  summary.add("command", command).add("exit_code", int{k_exit_usage}).add("exit_error", msg);
  log_usage_error(argc, argv, command, msg, summary);
  if (has_flag(argc, argv, "--json")) {
    std::printf(
        "%s\n",
        JsonObject("error").add("message", msg).add("exit_code", int{k_exit_usage}).str().c_str());
    std::printf("%s\n", summary.str().c_str());
  }
  return k_exit_usage;
}

// How a command ended: its exit code and, for a failure, the message of its error record.
struct RunOutcome {
  int code = k_exit_failure;
  std::string failure;
};

// Runs the parsed command; an exception becomes its exit code and error record.
RunOutcome run_command(Context& ctx, const CommandRunner& run) {
  RunOutcome outcome;
  try {
    if (ctx.global.event_log && !event_log_available()) {
      throw Error(ErrorKind::usage, "--event-log", "", "the event log is Windows-only");
    }
    outcome.code = run(ctx);
    return outcome;
  } catch (const Error& e) {
    outcome.code = exit_code_for(e.kind());
    outcome.failure = e.what();
  } catch (const std::bad_alloc&) {
    outcome.failure = "out of memory";
  } catch (const std::exception& e) {
    outcome.failure = std::string("internal error: ") + e.what();
  }
  ctx.out->error(outcome.failure, outcome.code);
  return outcome;
}

// The end of every run: an error record for a failure code without an exception, then
// the event (--event-log), the summary record and the log's last line. Returns the code.
int finish_run(Context& ctx, RunOutcome outcome) {
  if (outcome.code == k_exit_ok && ctx.out->log_failed()) outcome.code = k_exit_warnings;
  const int code = outcome.code;
  if (outcome.failure.empty() && code != k_exit_ok && code != k_exit_warnings) {
    // A command that ends with a failure code without an exception (verify finding
    // damage): every failing run still ends with an error record and exit_error.
    outcome.failure =
        fmt::format("{}: {}", ctx.command,
                    code == k_exit_damage ? "damage found (see the damage reports above)"
                                          : fmt::format("failed with exit code {}", code));
    ctx.out->error(outcome.failure, code);
  }
  ctx.summary.add("command", ctx.command).add("exit_code", code);
  if (!outcome.failure.empty()) ctx.summary.add("exit_error", outcome.failure);
  if (ctx.global.event_log && event_log_available()) write_run_event(ctx, code, outcome.failure);
  ctx.out->record(ctx.summary);
  // The summary record in the log too: the same fields as docs/json.md, for every command.
  ctx.out->log(fmt::format("{} finished with exit code {}; summary {}", ctx.command, code,
                           ctx.summary.str()));
  return code;
}

}  // namespace

int run_cli(int argc, char** argv) {
  Context ctx;
  CLI::App app{"vssimg: volume images into a deduplicating store, with VSS on Windows."};
  CommandTable table;
  build_app(app, ctx.global, table);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report_usage_error(argc, argv, app, table, e.what());
  }

  install_interrupt_handlers();
  tune_memory();
  ctx.out = std::make_unique<Output>(ctx.global);
  set_storage_options(
      StorageOptions{ctx.global.s3_path_style, &ctx.out->progress(), ctx.global.connections});
  set_password_provider([file = ctx.global.password_file](const std::string& location) {
    return read_password(PasswordSource{file}, location);
  });
  RunOutcome outcome;
  for (const auto& [sub, run] : table.entries) {
    if (!sub->parsed()) continue;
    ctx.command = sub->get_name();
    ctx.out->log(fmt::format("{} started: {}", ctx.command, command_line(argc, argv)));
    outcome = run_command(ctx, run);
    break;
  }
  return finish_run(ctx, std::move(outcome));
}

}  // namespace vssimg::cli
