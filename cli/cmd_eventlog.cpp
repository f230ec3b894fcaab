// vssimg eventlog install|uninstall: registers (or removes) the Application event log
// source `vssimg` that --event-log writes to. Windows only, as administrator.
#include "cli/context.hpp"
#include "cli/event_log.hpp"
#include "cli/exit_codes.hpp"

#include <fmt/format.h>

namespace vssimg::cli {

namespace {

int run_eventlog_install(Context& ctx) {
  auto r = install_event_source();
  ctx.out->text(fmt::format("event source '{}' {}: {}", k_event_source,
                            r.existed ? "updated" : "registered", k_event_source_key));
  if (r.message_file.empty()) {
    ctx.out->info(
        "no EventMessageFile registered (the .NET Framework 4 EventLogMessages.dll was not found); "
        "Event Viewer shows the text after a 'description cannot be found' note");
  }
  ctx.summary.add("source", k_event_source)
      .add("key", k_event_source_key)
      .add("message_file", r.message_file)
      .add("existed", r.existed);
  return k_exit_ok;
}

int run_eventlog_uninstall(Context& ctx) {
  const bool removed = uninstall_event_source();
  ctx.out->text(removed ? fmt::format("event source '{}' removed", k_event_source)
                        : fmt::format("event source '{}' was not registered", k_event_source));
  ctx.summary.add("source", k_event_source).add("key", k_event_source_key).add("removed", removed);
  return k_exit_ok;
}

}  // namespace

void add_eventlog_command(CLI::App& app, CommandTable& table) {
  auto* sub = app.add_subcommand(
      "eventlog", "Register or remove the Windows event log source (admin; see --event-log)");
  sub->require_subcommand(1, 1);
  auto* install = sub->add_subcommand(
      "install", "Register the Application log source 'vssimg' (exit 14 if not elevated)");
  sub->add_subcommand("uninstall", "Remove the Application log source 'vssimg'");
  table.add(sub, [install](Context& ctx) {
    return install->parsed() ? run_eventlog_install(ctx) : run_eventlog_uninstall(ctx);
  });
}

}  // namespace vssimg::cli
