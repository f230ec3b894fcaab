#include "image/point_meta.hpp"

#include <fmt/format.h>

namespace vssimg {

std::string_view to_string(Consistency c) {
  switch (c) {
    case Consistency::application:
      return "application";
    case Consistency::crash:
      return "crash";
    case Consistency::image:
      return "image";
  }
  return "image";
}

std::optional<Consistency> parse_consistency(std::string_view value) {
  if (value == "application" || value == "vss") return Consistency::application;
  if (value == "crash" || value == "vss-crash-consistent-writers" || value == "live-volume")
    return Consistency::crash;
  if (value == "image") return Consistency::image;
  return std::nullopt;
}

std::string consistency_name(const std::string& stored) {
  std::optional<Consistency> c = parse_consistency(stored);
  return c ? std::string(to_string(*c)) : stored;
}

bool is_integer_key(std::string_view key) {
  using namespace point_key;
  for (std::string_view k :
       {k_created, k_sequence, k_source_size, k_used_bytes, k_free_skipped_bytes, k_zero_bytes,
        k_unreadable_bytes, k_new_bytes, k_new_stored_bytes}) {
    if (key == k) return true;
  }
  return false;
}

namespace {

void set_bytes(PointMeta& m, const char* key, uint64_t value) {
  m.set_int(key, static_cast<int64_t>(value));
}

// One line for all writers: "SqlServerWriter: ok; Exchange Writer: crash-consistent (...)".
std::string writers_line(const std::vector<SnapshotOutcome::Writer>& writers) {
  std::string line;
  for (const auto& w : writers) {
    if (!line.empty()) line += "; ";
    line += w.failure.empty() ? fmt::format("{}: ok", w.name)
                              : fmt::format("{}: crash-consistent ({})", w.name, w.failure);
  }
  return line;
}

void set_snapshot(PointMeta& m, const SnapshotOutcome& s) {
  m.set(point_key::k_consistency, std::string(to_string(s.consistency)));
  if (!s.from_snapshot) return;
  m.set(point_key::k_vss_snapshot_id, s.snapshot_id);
  m.set(point_key::k_vss_snapshot_set_id, s.snapshot_set_id);
  m.set(point_key::k_vss_volume, s.volume);
  m.set(point_key::k_vss_device, s.device);
  m.set(point_key::k_vss_backup_type, s.backup_type);
  m.set(point_key::k_vss_writers, writers_line(s.writers));
}

}  // namespace

PointMeta encode_point_meta(const PointFacts& f) {
  PointMeta m;
  m.set(point_key::k_id, f.id);
  m.set(point_key::k_parent, f.parent);
  m.set_int(point_key::k_created, f.created);
  m.set_int(point_key::k_sequence, f.sequence);
  m.set(point_key::k_label, f.label);
  m.set(point_key::k_host, f.host);
  m.set(point_key::k_source, f.source);
  set_bytes(m, point_key::k_source_size, f.source_size);
  m.set(point_key::k_filesystem, f.filesystem);
  set_bytes(m, point_key::k_used_bytes, f.source_size - f.free_skipped_bytes);
  set_bytes(m, point_key::k_free_skipped_bytes, f.free_skipped_bytes);
  set_bytes(m, point_key::k_zero_bytes, f.zero_bytes);
  set_bytes(m, point_key::k_unreadable_bytes, f.unreadable_bytes);
  set_bytes(m, point_key::k_new_bytes, f.new_bytes);
  set_bytes(m, point_key::k_new_stored_bytes, f.new_stored_bytes);
  m.set(point_key::k_duration_seconds, fmt::format("{:.3f}", f.seconds));
  if (f.excluded_bytes) set_bytes(m, point_key::k_excluded_bytes, *f.excluded_bytes);
  set_snapshot(m, f.snapshot);
  return m;
}

}  // namespace vssimg
