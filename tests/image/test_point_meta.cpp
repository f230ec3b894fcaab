#include "core/base/error.hpp"
#include "image/point_meta.hpp"
#include "tests/catch.hpp"

#include <algorithm>

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

SnapshotOutcome::Writer sql_writer() {
  SnapshotOutcome::Writer w;
  w.name = "SqlServerWriter";
  w.writer_id = "{w1}";
  w.instance_id = "{i1}";
  w.state = 1;
  w.state_name = "Stable";
  w.error_name = "S_OK";
  return w;
}

SnapshotOutcome::Writer exchange_writer() {
  SnapshotOutcome::Writer w;
  w.name = "Exchange Writer";
  w.failure = "[8] failed_at_freeze, VSS_E_X";
  w.writer_id = "{w2}";
  w.instance_id = "{i2}";
  w.state = 8;
  w.state_name = "Failed at freeze";
  w.error = 0x800423F2u;
  w.error_name = "VSS_E_WRITERERROR_TIMEOUT";
  return w;
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
  s.writers = {sql_writer(), exchange_writer()};
  s.components = {{"SqlServerWriter", "{w1}", "{i1}", "database", "SRV\\INST", "master"},
                  {"SqlServerWriter", "{w1}", "{i1}", "database", "", "sales\tdb%\n"}};
  s.components_document = "<BACKUP_COMPONENTS xmlns=\"x-schema:#VssComponentMetadata\"/>\n";
  PointMeta m = encode_point_meta(f);
  using namespace point_key;
  std::set<std::string> keys = keys_of(m);
  CHECK(keys.size() == 17 + 10);
  CHECK(m.get_int(k_excluded_bytes, -1) == 0);
  CHECK(m.get(k_consistency) == "crash");
  CHECK(m.get(k_vss_snapshot_id) == "{snap}");
  CHECK(m.get(k_vss_snapshot_set_id) == "{set}");
  CHECK(m.get(k_vss_volume) == s.volume);
  CHECK(m.get(k_vss_device) == s.device);
  CHECK(m.get(k_vss_backup_type) == "full");
  CHECK(m.get(k_vss_writers) ==
        "SqlServerWriter: ok; Exchange Writer: crash-consistent ([8] failed_at_freeze, VSS_E_X)");

  // The lists and the document read back field by field, through the point file's text.
  PointMeta back;
  REQUIRE(back.decode(m.encode()));
  auto writers = recorded_writers(back);
  REQUIRE(writers);
  REQUIRE(writers->size() == 2);
  CHECK((*writers)[0].name == "SqlServerWriter");
  CHECK((*writers)[0].failure.empty());
  CHECK((*writers)[1].writer_id == "{w2}");
  CHECK((*writers)[1].instance_id == "{i2}");
  CHECK((*writers)[1].state == 8);
  CHECK((*writers)[1].state_name == "Failed at freeze");
  CHECK((*writers)[1].error == 0x800423F2u);
  CHECK((*writers)[1].error_name == "VSS_E_WRITERERROR_TIMEOUT");
  CHECK((*writers)[1].failure == "[8] failed_at_freeze, VSS_E_X");
  auto components = recorded_components(back);
  REQUIRE(components);
  REQUIRE(components->size() == 2);
  CHECK((*components)[0].writer_name == "SqlServerWriter");
  CHECK((*components)[0].writer_id == "{w1}");
  CHECK((*components)[0].instance_id == "{i1}");
  CHECK((*components)[0].type == "database");
  CHECK((*components)[0].logical_path == "SRV\\INST");
  CHECK((*components)[0].name == "master");
  CHECK((*components)[1].logical_path.empty());
  CHECK((*components)[1].name == "sales\tdb%\n");  // a tab, % and newline survive
  CHECK(recorded_components_document(back) == s.components_document);
  CHECK(m.get(k_vss_components_document) ==
        encode_base64(s.components_document));  // base64, as docs/format.md says

  // No components included (a snapshot no writer took part in): an empty list, recorded.
  f.snapshot.components.clear();
  f.snapshot.components_document.clear();
  m = encode_point_meta(f);
  CHECK(m.has(k_vss_components));
  CHECK(recorded_components(m)->empty());
  CHECK_FALSE(m.has(k_vss_components_document));
  CHECK_FALSE(recorded_components_document(m).has_value());

  // A live volume read without a snapshot: crash, and no vss.* keys.
  f.snapshot = SnapshotOutcome{};
  f.snapshot.consistency = Consistency::crash;
  f.excluded_bytes.reset();
  m = encode_point_meta(f);
  CHECK(m.get(k_consistency) == "crash");
  CHECK(keys_of(m).size() == 17);
}

TEST_CASE("point meta: lists in a value round-trip any field, and bad escapes are refused") {
  std::vector<std::vector<std::string>> rows = {
      {"a", "", "tab\there", "nl\nhere", "cr\rhere", "pct%41", "\xe4\xb8\xad\xe6\x96\x87"},
      {""},
      {"last"}};
  std::string text = encode_meta_list(rows);
  CHECK(text.find('\r') == std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 3);  // one line per row
  CHECK(decode_meta_list(text) == rows);
  CHECK(decode_meta_list("")->empty());
  CHECK(encode_meta_list({}).empty());
  CHECK_FALSE(decode_meta_list("a%4").has_value());
  CHECK_FALSE(decode_meta_list("a%zz\tb\n").has_value());
  CHECK_FALSE(decode_meta_list("a%").has_value());
}

TEST_CASE("point meta: base64 is RFC 4648's, and only canonical text decodes") {
  // RFC 4648, section 10.
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : vectors) {
    CHECK(encode_base64(plain) == coded);
    CHECK(decode_base64(coded) == std::string(plain));
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  CHECK(decode_base64(encode_base64(all)) == all);
  for (const char* bad :
       {"Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm9v\n", "Zm 9", "=Zm9", "Zg==Zg==", "Zm8*"}) {
    CAPTURE(bad);
    CHECK_FALSE(decode_base64(bad).has_value());
  }
}

TEST_CASE("point meta: points without the writer keys read fine; damaged values are named") {
  // A point of an earlier build: vss.writers only.
  PointMeta old;
  old.set(point_key::k_vss_writers, "SqlServerWriter: ok");
  CHECK_FALSE(recorded_writers(old).has_value());
  CHECK_FALSE(recorded_components(old).has_value());
  CHECK_FALSE(recorded_components_document(old).has_value());

  auto damage = [](const PointMeta& m, auto read) {
    try {
      read(m);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::damage);
      return std::string(e.what());
    }
    FAIL("no Error");
    return std::string();
  };
  PointMeta m;
  m.set(point_key::k_vss_writer_states, "only\tthree\tfields\n");
  CHECK(damage(m, recorded_writers).find("vss.writer_states") != std::string::npos);
  m.set(point_key::k_vss_writer_states, "w\t{w}\t{i}\tone\tStable\t0x00000000\tS_OK\t\n");
  CHECK(damage(m, recorded_writers).find("not a number") != std::string::npos);
  m.set(point_key::k_vss_writer_states, "w\t{w}\t{i}\t1\tStable\t0\tS_OK\t\n");
  CHECK(damage(m, recorded_writers).find("8 hex digits") != std::string::npos);
  m.set(point_key::k_vss_components, "w\t{w}\t%G0\n");
  CHECK(damage(m, recorded_components).find("vss.components") != std::string::npos);
  m.set(point_key::k_vss_components_document, "not base64!");
  CHECK(damage(m, recorded_components_document).find("vss.components_document") !=
        std::string::npos);
}
