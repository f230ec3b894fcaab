// vssimg list-writers [-v] [--json]: every VSS writer with its state and last error.
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "vss/vss.hpp"

#include <fmt/format.h>

namespace vssimg::cli {

namespace {

struct ListWritersOptions {
  bool verbose = false;
};

std::string components_json(const std::vector<vss::WriterComponent>& components) {
  std::string json = "[";
  for (const auto& c : components) {
    if (json.size() > 1) json += ',';
    JsonObject o("component");
    o.add("logical_path", c.logical_path)
        .add("name", c.name)
        .add("component_type", c.type)
        .add("selectable", c.selectable);
    json += o.str();
  }
  return json + "]";
}

int run_list_writers(Context& ctx, const ListWritersOptions& opts) {
  auto writers = vss::list_writers(opts.verbose, ctx.out->progress());
  size_t failed = 0;
  for (const auto& w : writers) {
    const bool bad = vss::writer_state_failed(w.state) || w.last_error != 0;
    ctx.out->text(fmt::format("Writer name: '{}'", w.name));
    ctx.out->text(fmt::format("   Writer Id: {}", w.writer_id));
    ctx.out->text(fmt::format("   Writer Instance Id: {}", w.instance_id));
    ctx.out->text(fmt::format("   State: [{}] {}", w.state, w.state_name));
    ctx.out->text(fmt::format("   Last error: {} (0x{:08X})", w.last_error_name, w.last_error));
    if (opts.verbose) {
      for (const auto& c : w.components) {
        ctx.out->text(fmt::format("   Component: {}\\{} ({}{})", c.logical_path, c.name, c.type,
                                  c.selectable ? ", selectable" : ""));
      }
    }
    ctx.out->text("");
    JsonObject rec("writer");
    rec.add("name", w.name)
        .add("writer_id", w.writer_id)
        .add("instance_id", w.instance_id)
        .add("state", w.state)
        .add("state_name", w.state_name)
        .add("last_error", fmt::format("0x{:08X}", w.last_error))
        .add("last_error_name", w.last_error_name);
    if (opts.verbose) rec.add_raw("components", components_json(w.components));
    ctx.out->record(rec);
    if (bad) {
      ++failed;
      ctx.out->warning(fmt::format("VSS writer '{}' is in state [{}] {} with last error {}", w.name,
                                   w.state, w.state_name, vss::describe_vss_hresult(w.last_error)));
    }
  }
  ctx.summary.add("writers", static_cast<uint64_t>(writers.size()))
      .add("failed_writers", static_cast<uint64_t>(failed));
  return failed ? k_exit_warnings : k_exit_ok;
}

}  // namespace

void add_list_writers_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<ListWritersOptions>();
  auto* sub = app.add_subcommand(
      "list-writers",
      "List the VSS writers: name, ids, state and last error (exit 3 if one failed)");
  sub->add_flag("-v,--verbose", opts->verbose, "Also list each writer's components");
  table.add(sub, [opts](Context& ctx) { return run_list_writers(ctx, *opts); });
}

}  // namespace vssimg::cli
