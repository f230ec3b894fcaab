#include "cli/lock_options.hpp"
#include "cli/context.hpp"
#include "cli/point_flags.hpp"
#include "cli/exit_codes.hpp"
#include "image/lock.hpp"
#include "image/point_map_stream.hpp"
#include "image/point_meta.hpp"
#include "image/store.hpp"

#include <fmt/format.h>

#include <cstdlib>

namespace vssimg::cli {

namespace {
struct ShowOptions {
  std::string point;
  PointFilterFlags filter;  // --source, --host
};

bool is_vss_key(const std::string& key) {
  return key.rfind(point_key::k_vss_prefix, 0) == 0;
}

// The keys show prints in their own form (print_vss), not as `key value`.
bool is_structured_vss_key(const std::string& key) {
  using namespace point_key;
  return key == k_vss_writer_states || key == k_vss_components ||
         key == k_vss_components_document || key == k_vss_snapshot_set_id ||
         key == k_vss_backup_type;
}

std::string writers_json(const std::vector<SnapshotOutcome::Writer>& writers) {
  std::string json = "[";
  for (const auto& w : writers) {
    if (json.size() > 1) json += ',';
    json += JsonObject("writer")
                .add("name", w.name)
                .add("writer_id", w.writer_id)
                .add("instance_id", w.instance_id)
                .add("state", w.state)
                .add("state_name", w.state_name)
                .add("error", fmt::format("0x{:08X}", w.error))
                .add("error_name", w.error_name)
                .add("ok", w.failure.empty())
                .str();
  }
  return json + "]";
}

std::string components_json(const std::vector<SnapshotOutcome::Component>& components) {
  std::string json = "[";
  for (const auto& c : components) {
    if (json.size() > 1) json += ',';
    json += JsonObject("component")
                .add("writer", c.writer_name)
                .add("writer_id", c.writer_id)
                .add("instance_id", c.instance_id)
                .add("logical_path", c.logical_path)
                .add("name", c.name)
                .add("component_type", c.type)
                .str();
  }
  return json + "]";
}

// The snapshot set, backup type, writers with their states and the components of a VSS
// point (text and the structured JSON fields). Points of earlier builds have only
// vss.writers, which the caller prints as it is.
void print_vss(Context& ctx, const PointMeta& m, JsonObject& rec) {
  using namespace point_key;
  if (m.has(k_vss_snapshot_set_id)) {
    ctx.out->text(fmt::format("snapshot set {}", m.get(k_vss_snapshot_set_id)));
    rec.add("snapshot_set", m.get(k_vss_snapshot_set_id));
  }
  if (m.has(k_vss_backup_type))
    ctx.out->text(fmt::format("backup type  {}", m.get(k_vss_backup_type)));
  if (auto writers = recorded_writers(m)) {
    ctx.out->text(fmt::format("writers      {}", writers->size()));
    for (const auto& w : *writers) {
      ctx.out->text(fmt::format("  {:<32} [{}] {}, {}{}", w.name, w.state, w.state_name,
                                w.error_name, w.failure.empty() ? "" : ": crash-consistent"));
    }
    rec.add_raw("writers", writers_json(*writers));
  }
  if (auto components = recorded_components(m)) {
    ctx.out->text(fmt::format("components   {}", components->size()));
    for (const auto& c : *components) {
      ctx.out->text(fmt::format("  {:<32} {}{}{} ({})", c.writer_name, c.logical_path,
                                c.logical_path.empty() ? "" : "\\", c.name, c.type));
    }
    rec.add_raw("components", components_json(*components));
  }
  if (auto document = recorded_components_document(m)) {
    ctx.out->text(
        fmt::format("document     {} bytes of backup components document (for a "
                    "writer-aware restore)",
                    document->size()));
  }
}

// The VSS part (print_vss) and every metadata key: other vss.* keys as `key value` lines,
// and every key a JSON field.
void add_vss_and_keys(Context& ctx, const Point& p, JsonObject& rec) {
  const auto& m = p.meta;
  try {
    print_vss(ctx, m, rec);
  } catch (const Error& e) {
    ctx.out->warning(fmt::format("point {}: {}", p.id, e.what()));
  }
  const bool structured = m.has(point_key::k_vss_writer_states);
  for (const auto& [k, v] : m.values()) {
    if (is_vss_key(k) && !is_structured_vss_key(k) &&
        !(structured && k == point_key::k_vss_writers)) {
      ctx.out->text(fmt::format("{:<12} {}", k, v));
    }
    if (k == point_key::k_id) continue;
    // Numbers as JSON numbers, as in `list` (docs/json.md); other keys as strings.
    if (k == point_key::k_created)
      rec.add_time(k, m.get_int(k));
    else if (is_integer_key(k))
      rec.add(k, m.get_int(k));
    else if (k == point_key::k_duration_seconds)
      rec.add(k, std::atof(v.c_str()));
    else if (k == point_key::k_consistency)
      rec.add(k, consistency_name(v));
    else
      rec.add(k, v);
  }
}

// The human-readable lines of `show`.
void print_point(Context& ctx, const Point& p, uint64_t blocks, const uint64_t (&counts)[4]) {
  const auto& m = p.meta;
  ctx.out->text(fmt::format("point        {}", p.id));
  ctx.out->text(fmt::format("created      {}", local_time(m.get_int(point_key::k_created))));
  ctx.out->text(fmt::format("source       {} on {}", m.get(point_key::k_source),
                            point_host(m).empty() ? "(no host recorded)" : point_host(m)));
  ctx.out->text(
      fmt::format("size         {} ({} bytes)", human_bytes(p.source_size()), p.source_size()));
  ctx.out->text(fmt::format("filesystem   {}", m.get(point_key::k_filesystem).empty()
                                                   ? "(not detected: all blocks read)"
                                                   : m.get(point_key::k_filesystem)));
  ctx.out->text(fmt::format("label        {}", m.get(point_key::k_label)));
  ctx.out->text(fmt::format("parent       {}", m.get(point_key::k_parent).empty()
                                                   ? "(none)"
                                                   : m.get(point_key::k_parent)));
  if (m.has(point_key::k_origin_point)) {
    ctx.out->text(fmt::format("copied from  point {} of store {}", m.get(point_key::k_origin_point),
                              m.get(point_key::k_origin_store)));
  }
  ctx.out->text(fmt::format("consistency  {}", consistency_name(m.get(point_key::k_consistency))));
  ctx.out->text(fmt::format(
      "blocks       {} of {}: {} data, {} zero, {} free (skipped {}), {} unreadable", blocks,
      human_bytes(p.block_size), counts[0], counts[1], counts[2],
      human_bytes(static_cast<uint64_t>(m.get_int(point_key::k_free_skipped_bytes))), counts[3]));
  ctx.out->text(
      fmt::format("added        {} new ({} stored) in {} s",
                  human_bytes(static_cast<uint64_t>(m.get_int(point_key::k_new_bytes))),
                  human_bytes(static_cast<uint64_t>(m.get_int(point_key::k_new_stored_bytes))),
                  m.get(point_key::k_duration_seconds)));
}

int run_show(Context& ctx, const ShowOptions& opts) {
  Store store(ctx.store_path());
  StoreLock lock(store.storage(), LockMode::shared, WriterLock::none, "show",
                 lock_options(ctx, StoreAccess::read));
  // The map is streamed, one chunk at a time: show never holds a whole map.
  PointMapReader reader(store.storage(),
                        resolve_point(store, opts.point, point_filter(opts.filter)));
  Point p;
  p.id = reader.info().id;
  p.meta = reader.info().meta;
  p.block_size = reader.info().block_size;
  if (p.block_size != store.block_size())
    throw Error(ErrorKind::damage, "reading", "point " + p.id,
                "block size differs from the store's");
  const uint64_t blocks = reader.info().block_count;
  uint64_t counts[4] = {0, 0, 0, 0};  // data, zero, free, unreadable
  for (;;) {
    const auto& chunk = reader.next_chunk();
    if (chunk.empty()) break;
    for (const auto& b : chunk)
      counts[b.is_zero() ? 1 : b.is_free() ? 2 : b.is_unreadable() ? 3 : 0]++;
  }
  print_point(ctx, p, blocks, counts);
  JsonObject rec("point");
  rec.add("id", p.id).add("block_size", p.block_size).add("blocks", blocks);
  rec.add("data_blocks", counts[0])
      .add("zero_blocks", counts[1])
      .add("free_blocks", counts[2])
      .add("unreadable_blocks", counts[3]);
  add_vss_and_keys(ctx, p, rec);
  ctx.out->record(rec);
  ctx.summary.add("point", p.id);
  return k_exit_ok;
}
}  // namespace

void add_show_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<ShowOptions>();
  auto* sub = app.add_subcommand("show", "Show the details of one recovery point");
  sub->add_option("point", opts->point, "Point id, unique prefix, or 'latest'")->required();
  add_point_filter_flags(sub, opts->filter, FilterUse::named);
  table.add(sub, [opts](Context& ctx) { return run_show(ctx, *opts); });
}

}  // namespace vssimg::cli
