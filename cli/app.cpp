#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "core/error.hpp"

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

}  // namespace

std::filesystem::path Context::store_path() const {
  if (global.store.empty()) {
    throw Error(ErrorKind::usage, "finding store", "", "no store given; use --store PATH or set VSSIMG_STORE");
  }
  return std::filesystem::path(global.store);
}

std::string normalize_source(const std::string& source) {
  std::error_code ec;
  if (source.empty() || !std::filesystem::exists(source, ec)) return source;
  return std::filesystem::absolute(source, ec).lexically_normal().string();
}

uint64_t parse_size(const std::string& text, const std::string& what) {
  size_t pos = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
  std::string suffix = text.substr(pos);
  for (auto& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  uint64_t mult = 0;
  if (suffix.empty() || suffix == "B") mult = 1;
  else if (suffix == "K" || suffix == "KB" || suffix == "KIB") mult = 1024;
  else if (suffix == "M" || suffix == "MB" || suffix == "MIB") mult = 1024 * 1024;
  else if (suffix == "G" || suffix == "GB" || suffix == "GIB") mult = 1024ull * 1024 * 1024;
  if (pos == 0 || mult == 0 || pos > 12) {
    throw Error(ErrorKind::usage, "parsing", what, fmt::format("'{}' is not a size like 256K or 1M", text));
  }
  return std::stoull(text.substr(0, pos)) * mult;
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
  app.add_option("--progress", ctx.global.progress, "Progress on stderr: auto (only on a console), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_option("--log-file", ctx.global.log_file, "Append timestamped log lines to FILE");
  app.add_option("--threads", ctx.global.threads, "Worker threads (default: all cores)");
  app.add_flag("-q,--quiet", ctx.global.quiet, "No informational lines on stderr");

  CommandTable table;
  add_init_command(app, table);
  add_backup_command(app, table);
  add_list_command(app, table);
  add_show_command(app, table);
  add_verify_command(app, table);
  add_restore_command(app, table);
  add_repair_command(app, table);
  add_list_writers_command(app, table);
  add_snapshot_command(app, table);

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
    if (has_flag(argc, argv, "--json")) {
      std::printf("%s\n", JsonObject("error").add("message", msg).add("exit_code", int{k_exit_usage}).str().c_str());
      std::printf("%s\n", JsonObject("summary").add("exit_code", int{k_exit_usage}).add("exit_error", msg).str().c_str());
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
    try {
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
  ctx.summary.add("command", ctx.command).add("exit_code", code);
  if (!failure.empty()) ctx.summary.add("exit_error", failure);
  ctx.out->record(ctx.summary);
  ctx.out->log(fmt::format("{} finished with exit code {}", ctx.command, code));
  return code;
}

}  // namespace vssimg::cli
