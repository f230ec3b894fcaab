#include "image/point_meta.hpp"
#include "tests/catch.hpp"

#include <set>
#include <string>

using namespace vssimg;

namespace {

// Every field a distinct value, so a key filled from the wrong field shows.
PointFacts distinct_facts() {
  PointFacts f;
  f.id = "0123456789abcdef";
  f.parent = "fedcba9876543210";
  f.created = 1700000000;
  f.sequence = 7;
  f.label = "nightly";
  f.host = "server1";
  f.source = "/dev/sdb1";
  f.source_size = 1000000;
  f.filesystem = "ntfs";
  f.free_skipped_bytes = 300000;
  f.zero_bytes = 40000;
  f.unreadable_bytes = 5000;
  f.new_bytes = 600;
  f.new_stored_bytes = 70;
  f.seconds = 1.23456;
  return f;
}

std::set<std::string> keys_of(const PointMeta& m) {
  std::set<std::string> keys;
  for (const auto& [k, v] : m.values()) keys.insert(k);
  return keys;
}

}  // namespace

TEST_CASE("point meta: consistency values, and those of earlier builds read as documented") {
  for (Consistency c : {Consistency::application, Consistency::crash, Consistency::image}) {
    REQUIRE(parse_consistency(to_string(c)) == c);
  }
  CHECK(to_string(Consistency::application) == "application");
  CHECK(to_string(Consistency::crash) == "crash");
  CHECK(to_string(Consistency::image) == "image");

  CHECK(parse_consistency("vss") == Consistency::application);
  CHECK(parse_consistency("vss-crash-consistent-writers") == Consistency::crash);
  CHECK(parse_consistency("live-volume") == Consistency::crash);
  CHECK_FALSE(parse_consistency("").has_value());
  CHECK_FALSE(parse_consistency("Application").has_value());

  CHECK(consistency_name("vss") == "application");
  CHECK(consistency_name("vss-crash-consistent-writers") == "crash");
  CHECK(consistency_name("live-volume") == "crash");
  CHECK(consistency_name("image") == "image");
  // A newer version's value, or none, is shown as stored.
  CHECK(consistency_name("quantum") == "quantum");
  CHECK(consistency_name("") == "");
}

TEST_CASE("point meta: an image backup writes each documented key from its own field") {
  PointMeta m = encode_point_meta(distinct_facts());
  using namespace point_key;
  CHECK(keys_of(m) == std::set<std::string>{k_id, k_parent, k_created, k_sequence, k_label, k_host,
                                            k_source, k_source_size, k_filesystem, k_used_bytes,
                                            k_free_skipped_bytes, k_zero_bytes, k_unreadable_bytes,
                                            k_new_bytes, k_new_stored_bytes, k_duration_seconds,
                                            k_consistency});
  CHECK(m.get(k_id) == "0123456789abcdef");
  CHECK(m.get(k_parent) == "fedcba9876543210");
  CHECK(m.get_int(k_created) == 1700000000);
  CHECK(m.get_int(k_sequence) == 7);
  CHECK(m.get(k_label) == "nightly");
  CHECK(m.get(k_host) == "server1");
  CHECK(m.get(k_source) == "/dev/sdb1");
  CHECK(m.get_int(k_source_size) == 1000000);
  CHECK(m.get(k_filesystem) == "ntfs");
  CHECK(m.get_int(k_used_bytes) == 700000);  // source size less the free bytes
  CHECK(m.get_int(k_free_skipped_bytes) == 300000);
  CHECK(m.get_int(k_zero_bytes) == 40000);
  CHECK(m.get_int(k_unreadable_bytes) == 5000);
  CHECK(m.get_int(k_new_bytes) == 600);
  CHECK(m.get_int(k_new_stored_bytes) == 70);
  CHECK(m.get(k_duration_seconds) == "1.235");
  CHECK(m.get(k_consistency) == "image");

  // show prints these as JSON numbers: all integers; the others are not.
  size_t integers = 0;
  for (const auto& [k, v] : m.values()) {
    if (!is_integer_key(k)) continue;
    ++integers;
    CHECK(std::to_string(m.get_int(k)) == v);
  }
  CHECK(integers == 9);
  CHECK_FALSE(is_integer_key(k_duration_seconds));
  CHECK_FALSE(is_integer_key(k_excluded_bytes));

  // The encoding survives the point file's text form.
  PointMeta back;
  REQUIRE(back.decode(m.encode()));
  CHECK(back.values() == m.values());
}

TEST_CASE("point meta: a snapshot and a volume bitmap add vss.* and excluded_bytes") {
  PointFacts f = distinct_facts();
  f.excluded_bytes = 0;  // --include-pagefile: recorded, as 0
  SnapshotOutcome& s = f.snapshot;
  s.consistency = Consistency::crash;
  s.from_snapshot = true;
  s.snapshot_id = "{snap}";
  s.snapshot_set_id = "{set}";
  s.volume = "\\\\?\\Volume{v}\\";
  s.device = "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy7";
  s.backup_type = "full";
  s.writers = {{"SqlServerWriter", ""}, {"Exchange Writer", "[8] failed_at_freeze, VSS_E_X"}};
  PointMeta m = encode_point_meta(f);
  using namespace point_key;
  std::set<std::string> keys = keys_of(m);
  CHECK(keys.size() == 17 + 7);
  CHECK(m.get_int(k_excluded_bytes, -1) == 0);
  CHECK(m.get(k_consistency) == "crash");
  CHECK(m.get(k_vss_snapshot_id) == "{snap}");
  CHECK(m.get(k_vss_snapshot_set_id) == "{set}");
  CHECK(m.get(k_vss_volume) == s.volume);
  CHECK(m.get(k_vss_device) == s.device);
  CHECK(m.get(k_vss_backup_type) == "full");
  CHECK(m.get(k_vss_writers) ==
        "SqlServerWriter: ok; Exchange Writer: crash-consistent ([8] failed_at_freeze, VSS_E_X)");

  // A live volume read without a snapshot: crash, and no vss.* keys.
  f.snapshot = SnapshotOutcome{};
  f.snapshot.consistency = Consistency::crash;
  f.excluded_bytes.reset();
  m = encode_point_meta(f);
  CHECK(m.get(k_consistency) == "crash");
  CHECK(keys_of(m).size() == 17);
}
