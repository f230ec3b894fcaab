#include "image/point_meta.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdlib>

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

std::vector<std::vector<std::string>> writer_rows(const std::vector<SnapshotOutcome::Writer>& ws) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& w : ws) {
    rows.push_back({w.name, w.writer_id, w.instance_id, std::to_string(w.state), w.state_name,
                    fmt::format("0x{:08X}", w.error), w.error_name, w.failure});
  }
  return rows;
}

std::vector<std::vector<std::string>> component_rows(
    const std::vector<SnapshotOutcome::Component>& cs) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : cs)
    rows.push_back({c.writer_name, c.writer_id, c.instance_id, c.type, c.logical_path, c.name});
  return rows;
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
  m.set(point_key::k_vss_writer_states, encode_meta_list(writer_rows(s.writers)));
  m.set(point_key::k_vss_components, encode_meta_list(component_rows(s.components)));
  if (!s.components_document.empty())
    m.set(point_key::k_vss_components_document, encode_base64(s.components_document));
}

}  // namespace

PointMeta copied_point_meta(const PointMeta& source, const std::string& id,
                            const std::string& parent, const std::string& origin_store,
                            const std::string& origin_point) {
  PointMeta m = source;
  m.set(point_key::k_id, id);
  m.set(point_key::k_parent, parent);
  m.set(point_key::k_origin_store, origin_store);
  m.set(point_key::k_origin_point, origin_point);
  return m;
}

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

namespace {

constexpr char k_base64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool list_special(char c) {
  return c == '%' || c == '\t' || c == '\n' || c == '\r';
}

// One field's %XX escapes undone; false on a bad escape.
bool unescape_field(std::string_view text, std::string& out) {
  out.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    uint8_t b = 0;
    if (i + 2 >= text.size()) return false;
    if (!from_hex(text.substr(i + 1, 2), &b, 1)) return false;
    out += static_cast<char>(b);
    i += 2;
  }
  return true;
}

[[noreturn]] void bad_value(const char* key, const std::string& what) {
  throw Error(ErrorKind::damage, "reading point metadata", key, what);
}

// The rows of list `key`, each with exactly `fields` fields; nullopt when absent.
std::optional<std::vector<std::vector<std::string>>> rows_of(const PointMeta& meta, const char* key,
                                                             size_t fields) {
  if (!meta.has(key)) return std::nullopt;
  auto rows = decode_meta_list(meta.get(key));
  if (!rows) bad_value(key, "not a list (bad %XX escape)");
  for (const auto& row : *rows) {
    if (row.size() != fields)
      bad_value(key, fmt::format("a row has {} fields instead of {}", row.size(), fields));
  }
  return rows;
}

}  // namespace

std::string encode_meta_list(const std::vector<std::vector<std::string>>& rows) {
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) out += '\t';
      for (char c : row[i]) {
        if (list_special(c))
          out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
        else
          out += c;
      }
    }
    out += '\n';
  }
  return out;
}

std::optional<std::vector<std::vector<std::string>>> decode_meta_list(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    std::vector<std::string> row;
    for (;;) {
      size_t tab = line.find('\t');
      std::string field;
      if (!unescape_field(line.substr(0, tab), field)) return std::nullopt;
      row.push_back(std::move(field));
      if (tab == std::string_view::npos) break;
      line = line.substr(tab + 1);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string encode_base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t v = 0;
    for (size_t k = 0; k < 3; ++k)
      v = (v << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? k_base64[(v >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::array<int, 256> value;
  value.fill(-1);
  for (int i = 0; i < 64; ++i) value[static_cast<unsigned char>(k_base64[i])] = i;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const size_t pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=') : 0;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      int d = k < 4 - pad ? value[static_cast<unsigned char>(text[i + k])] : 0;
      if (d < 0) return std::nullopt;
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    // Canonical: the bits a padded group leaves over are zero.
    if ((pad == 1 && (v & 0xFF)) || (pad == 2 && (v & 0xFFFF))) return std::nullopt;
    for (size_t k = 0; k < 3 - pad; ++k) out += static_cast<char>((v >> (16 - 8 * k)) & 0xFF);
  }
  return out;
}

std::optional<std::vector<SnapshotOutcome::Writer>> recorded_writers(const PointMeta& meta) {
  auto rows = rows_of(meta, point_key::k_vss_writer_states, 8);
  if (!rows) return std::nullopt;
  std::vector<SnapshotOutcome::Writer> out;
  for (auto& r : *rows) {
    SnapshotOutcome::Writer w;
    char* end = nullptr;
    long state = std::strtol(r[3].c_str(), &end, 10);
    if (r[3].empty() || *end != '\0' || state < 0 || state > 1000)
      bad_value(point_key::k_vss_writer_states, "a writer state is not a number");
    uint8_t error[4];
    if (r[5].size() != 10 || r[5].compare(0, 2, "0x") != 0 ||
        !from_hex(std::string_view(r[5]).substr(2), error, 4))
      bad_value(point_key::k_vss_writer_states, "a writer error is not 0x and 8 hex digits");
    w.name = std::move(r[0]);
    w.writer_id = std::move(r[1]);
    w.instance_id = std::move(r[2]);
    w.state = static_cast<int>(state);
    w.state_name = std::move(r[4]);
    w.error = static_cast<uint32_t>(error[0]) << 24 | static_cast<uint32_t>(error[1]) << 16 |
              static_cast<uint32_t>(error[2]) << 8 | error[3];
    w.error_name = std::move(r[6]);
    w.failure = std::move(r[7]);
    out.push_back(std::move(w));
  }
  return out;
}

std::optional<std::vector<SnapshotOutcome::Component>> recorded_components(const PointMeta& meta) {
  auto rows = rows_of(meta, point_key::k_vss_components, 6);
  if (!rows) return std::nullopt;
  std::vector<SnapshotOutcome::Component> out;
  for (auto& r : *rows) {
    out.push_back({std::move(r[0]), std::move(r[1]), std::move(r[2]), std::move(r[3]),
                   std::move(r[4]), std::move(r[5])});
  }
  return out;
}

std::optional<std::string> recorded_components_document(const PointMeta& meta) {
  if (!meta.has(point_key::k_vss_components_document)) return std::nullopt;
  auto doc = decode_base64(meta.get(point_key::k_vss_components_document));
  if (!doc) bad_value(point_key::k_vss_components_document, "not base64");
  return doc;
}

}  // namespace vssimg
