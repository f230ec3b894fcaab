// The metadata of a recovery point (docs/format.md, "Point file"): the name of every key,
// the `consistency` values, and the one function that writes a backup's metadata.
// Readers of points use the key constants; nothing else spells a key.
#pragma once

#include "image/point.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vssimg {

namespace point_key {
inline constexpr char k_id[] = "id";
inline constexpr char k_parent[] = "parent";
inline constexpr char k_created[] = "created";
inline constexpr char k_sequence[] = "sequence";
inline constexpr char k_label[] = "label";
inline constexpr char k_host[] = "host";
inline constexpr char k_source[] = "source";
inline constexpr char k_source_size[] = "source_size";
inline constexpr char k_filesystem[] = "filesystem";
inline constexpr char k_used_bytes[] = "used_bytes";
inline constexpr char k_free_skipped_bytes[] = "free_skipped_bytes";
inline constexpr char k_zero_bytes[] = "zero_bytes";
inline constexpr char k_unreadable_bytes[] = "unreadable_bytes";
inline constexpr char k_new_bytes[] = "new_bytes";
inline constexpr char k_new_stored_bytes[] = "new_stored_bytes";
inline constexpr char k_duration_seconds[] = "duration_seconds";
inline constexpr char k_consistency[] = "consistency";
// Bytes of the paging and hibernation files left out of a Windows volume bitmap
// (docs/allocation.md); written only when that bitmap chose the blocks.
inline constexpr char k_excluded_bytes[] = "excluded_bytes";
// The snapshot the source was read from (docs/windows.md); written only for a snapshot.
inline constexpr char k_vss_prefix[] = "vss.";
inline constexpr char k_vss_snapshot_id[] = "vss.snapshot_id";
inline constexpr char k_vss_snapshot_set_id[] = "vss.snapshot_set_id";
inline constexpr char k_vss_volume[] = "vss.volume";
inline constexpr char k_vss_device[] = "vss.device";
inline constexpr char k_vss_backup_type[] = "vss.backup_type";
inline constexpr char k_vss_writers[] = "vss.writers";
// Lists (encode_meta_list): every writer with its ids and state; the writer components
// added to the backup. Both absent in points of earlier builds.
inline constexpr char k_vss_writer_states[] = "vss.writer_states";
inline constexpr char k_vss_components[] = "vss.components";
// The backup components document (SaveAsXML, UTF-8) in base64; absent when VSS gave none.
inline constexpr char k_vss_components_document[] = "vss.components_document";
// A point written by `copy` (docs/format.md, "Copied points"): the store id (32 hex
// digits) and point id it was copied from. Absent in points written by a backup.
inline constexpr char k_origin_store[] = "origin.store";
inline constexpr char k_origin_point[] = "origin.point";
}  // namespace point_key

// The keys of docs/format.md's table whose values are integers. excluded_bytes is not
// among them: docs/json.md gives keys outside that table as strings.
bool is_integer_key(std::string_view key);

// How consistent the point's data is. application: read from a snapshot in which every
// writer prepared its data. crash: a live volume read without a snapshot, or a snapshot in
// which a writer failed (its data is as after a power cut). image: a file or device read
// as it is, with no snapshot involved.
enum class Consistency { application, crash, image };

std::string_view to_string(Consistency c);
// The documented values, and those earlier builds wrote: `vss` (application),
// `vss-crash-consistent-writers` and `live-volume` (crash). Nothing for anything else.
std::optional<Consistency> parse_consistency(std::string_view value);
// A stored `consistency` value as the documented one (parse_consistency); a value this
// version does not know (a newer version's, or none) is returned as it is.
std::string consistency_name(const std::string& stored);

// How the source was captured, filled by the caller from whatever made the snapshot;
// recorded as `consistency` and, when a snapshot was read, the vss.* keys.
struct SnapshotOutcome {
  struct Writer {
    std::string name;
    std::string failure;  // empty: the writer prepared its data
    std::string writer_id;
    std::string instance_id;
    int state = 0;
    std::string state_name;
    uint32_t error = 0;
    std::string error_name;
  };
  // A writer component added to the backup (component mode).
  struct Component {
    std::string writer_name;
    std::string writer_id;
    std::string instance_id;
    std::string type;  // "database" | "filegroup"
    std::string logical_path;
    std::string name;
  };
  Consistency consistency = Consistency::image;
  bool from_snapshot = false;  // false: the fields below are empty and not recorded
  std::string snapshot_id;
  std::string snapshot_set_id;
  std::string volume;  // the volume's own name
  std::string device;  // the snapshot device that was read
  std::string backup_type;
  std::vector<Writer> writers;
  std::vector<Component> components;
  std::string components_document;  // UTF-8 XML; empty: none
};

// Everything a backup records about its point.
struct PointFacts {
  std::string id;
  std::string parent;  // empty: no parent
  int64_t created = 0;
  int64_t sequence = 0;
  std::string label;
  std::string host;
  std::string source;
  uint64_t source_size = 0;
  std::string filesystem;  // empty: no allocation map, every block read
  uint64_t free_skipped_bytes = 0;
  uint64_t zero_bytes = 0;
  uint64_t unreadable_bytes = 0;
  uint64_t new_bytes = 0;
  uint64_t new_stored_bytes = 0;
  double seconds = 0;
  std::optional<uint64_t> excluded_bytes;
  SnapshotOutcome snapshot;
};

// The point's metadata: each key of docs/format.md from its one field of `facts`.
PointMeta encode_point_meta(const PointFacts& facts);

// The metadata of a copy of a point (`copy`): every key of `source` as it is (times, host,
// source, sizes, VSS outcome, and keys of newer versions), with the new `id`, the `parent`
// (the copy of the source's parent in the destination, or empty) and the origin keys.
PointMeta copied_point_meta(const PointMeta& source, const std::string& id,
                            const std::string& parent, const std::string& origin_store,
                            const std::string& origin_point);

// A list in one metadata value (docs/format.md, "Lists in metadata"): one line per row,
// fields separated by a tab; `%`, tab, newline and carriage return inside a field as %XX.
std::string encode_meta_list(const std::vector<std::vector<std::string>>& rows);
// The rows of a list; nullopt when `text` is not one (a bad %XX escape).
std::optional<std::vector<std::vector<std::string>>> decode_meta_list(std::string_view text);

// Base64 (RFC 4648, standard alphabet, padded, no line breaks).
std::string encode_base64(std::string_view bytes);
// nullopt for anything that is not canonical base64 of that kind.
std::optional<std::string> decode_base64(std::string_view text);

// What a point recorded about its VSS writers and components. Readers of old points
// (keys absent) get nullopt; a value that does not decode throws Error(damage) naming
// the point's key.
std::optional<std::vector<SnapshotOutcome::Writer>> recorded_writers(const PointMeta& meta);
std::optional<std::vector<SnapshotOutcome::Component>> recorded_components(const PointMeta& meta);
std::optional<std::string> recorded_components_document(const PointMeta& meta);

}  // namespace vssimg
