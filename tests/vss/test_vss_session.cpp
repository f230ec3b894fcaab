// The real VSS wrapper (vss/*_win32.cpp) driven by the scripted fake: the exact call order
// and outcome of each case of the requester sequence (vss/vss_session_win32.cpp).
#include "tests/vss/fake_vss.hpp"
#include "tests/win32/win_test_util.hpp"

#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "core/os/platform.hpp"
#include "vss/vss_records.hpp"

#include "tests/catch.hpp"

using namespace vssimg;
using vssimg::test::FakeVss;
using vssimg::test::k_never_finishes;
using Calls = std::vector<std::string>;

namespace {

constexpr HRESULT k_in_progress = static_cast<HRESULT>(0x80042316);
constexpr HRESULT k_insufficient_storage = static_cast<HRESULT>(0x8004231F);
constexpr HRESULT k_provider_veto = static_cast<HRESULT>(0x80042306);
constexpr HRESULT k_writer_retryable = static_cast<HRESULT>(0x800423F3);
constexpr HRESULT k_writer_nonretryable = static_cast<HRESULT>(0x800423F4);

Calls operator+(Calls a, const Calls& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The first line starting with `prefix`, or "".
std::string line_starting(const std::vector<std::string>& lines, const std::string& prefix) {
  for (const auto& l : lines) {
    if (l.rfind(prefix, 0) == 0) return l;
  }
  return "";
}

// A status pass over `writers` writers.
Calls status_pass(size_t writers) {
  Calls c = {"GatherWriterStatus", "GetWriterStatusCount"};
  c.insert(c.end(), writers, "GetWriterStatus");
  c.push_back("FreeWriterStatus");
  return c;
}
const Calls k_status = status_pass(1);
const Calls k_metadata = {"Create",
                          "InitializeForBackup",
                          "SetBackupState",
                          "GatherWriterMetadata",
                          "GetWriterMetadataCount",
                          "GetWriterMetadata"};
const Calls k_until_set = k_metadata + Calls{"StartSnapshotSet"};
const Calls k_until_snapshot =
    k_until_set + Calls{"AddToSnapshotSet", "PrepareForBackup"} + k_status + Calls{"DoSnapshotSet"};
const Calls k_created = k_until_snapshot + k_status + Calls{"GetSnapshotProperties"};
const Calls k_completed = Calls{"BackupComplete"} + k_status + Calls{"DeleteSnapshots", "Release"};

struct Fixture {
  test::TempDir dir;
  FakeVss fake;
  test::RecordingSink sink;
  vss::SnapshotOptions options;
  Fixture() {
    options.retries = 3;
    options.retry_delay_seconds = 0.01;
    options.timeout_seconds = 5;
    options.wait_slice_seconds = 0.01;
  }
  std::filesystem::path records() const { return dir.path() / "snapshots.tsv"; }
  std::unique_ptr<vss::SnapshotSession> snapshot(std::vector<std::string> volumes = {"C:"}) {
    return vss::create_snapshot(fake.backend(records()), volumes, options, sink);
  }
  std::string records_text() const {
    std::error_code ec;
    return std::filesystem::exists(records(), ec) ? read_small_file(records(), 1 << 20) : "";
  }
};

}  // namespace

TEST_CASE("vss: success runs the documented sequence and cleans up", "[vss]") {
  Fixture f;
  {
    auto session = f.snapshot();
    CHECK(f.fake.calls == k_created);
    REQUIRE(session->volumes().size() == 1);
    CHECK(session->volumes()[0].device_path ==
          "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1");
    CHECK(session->volumes()[0].volume_name ==
          "\\\\?\\Volume{fa4e0000-0000-0000-0000-00000000000C}\\");
    CHECK(session->volumes()[0].snapshot_id.size() == 38);
    CHECK(f.fake.added_volumes ==
          std::vector<std::wstring>{L"\\\\?\\Volume{fa4e0000-0000-0000-0000-00000000000C}\\"});
    CHECK(f.fake.backup_type == VSS_BT_COPY);
    CHECK(f.fake.freed_properties == 1);
    CHECK_FALSE(session->crash_consistent());
    REQUIRE(session->writers().size() == 1);
    CHECK(session->writers()[0].name == "Fake SQL Writer");
    CHECK(session->writers()[0].state_name == "Stable");
    // Recorded while it exists, with this process as owner.
    CHECK(f.records_text().find(session->volumes()[0].snapshot_id) != std::string::npos);
    session->complete(true);
  }
  CHECK(f.fake.calls == k_created + k_completed);
  CHECK(f.fake.live_components == 0);
  CHECK(f.fake.live_async == 0);
  CHECK(f.records_text().find("{") == std::string::npos);
  CHECK(f.sink.warnings.empty());
}

TEST_CASE("vss: a session destroyed without complete() aborts; full backup type is passed on",
          "[vss]") {
  Fixture f;
  f.options.backup_type = vss::BackupType::full;
  { auto session = f.snapshot({"C:", "D:"}); }
  CHECK(f.fake.backup_type == VSS_BT_FULL);
  CHECK(test::count_calls(f.fake.calls, "AddToSnapshotSet") == 2);
  CHECK(test::count_calls(f.fake.calls, "GetSnapshotProperties") == 2);
  CHECK(test::count_calls(f.fake.calls, "BackupComplete") == 0);
  Calls tail(f.fake.calls.end() - 3, f.fake.calls.end());
  CHECK(tail == Calls{"AbortBackup", "DeleteSnapshots", "Release"});
  CHECK(f.fake.live_components == 0);
}

TEST_CASE("vss: SNAPSHOT_SET_IN_PROGRESS twice, then success", "[vss]") {
  Fixture f;
  f.fake.results["StartSnapshotSet"] = {k_in_progress, k_in_progress};
  auto session = f.snapshot();
  const Calls failed = k_until_set + Calls{"Release"};
  CHECK(f.fake.calls == failed + failed + k_created);
  CHECK(f.fake.sleeps.size() == 2);
  CHECK(f.sink.warnings.empty());
  REQUIRE(f.sink.infos.size() >= 2);
  CHECK(f.sink.infos[0].find("VSS StartSnapshotSet: VSS_E_SNAPSHOT_SET_IN_PROGRESS (0x80042316)") ==
        0);
  CHECK(f.sink.infos[0].find("attempt 2 of 4") != std::string::npos);
  CHECK(f.sink.infos[1].find("attempt 3 of 4") != std::string::npos);
  session->complete(true);
}

TEST_CASE("vss: retries are bounded", "[vss]") {
  Fixture f;
  f.options.retries = 2;
  f.fake.results["StartSnapshotSet"] = {k_in_progress, k_in_progress, k_in_progress, k_in_progress};
  try {
    f.snapshot();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::vss);
    CHECK(std::string(e.what()).find("gave up after 3 attempts") != std::string::npos);
  }
  CHECK(test::count_calls(f.fake.calls, "Create") == 3);
  CHECK(f.fake.live_components == 0);
}

TEST_CASE("vss: a transient provider error from DoSnapshotSet is retried", "[vss]") {
  Fixture f;
  f.fake.async_results["DoSnapshotSet"] = {k_provider_veto};
  auto session = f.snapshot();
  CHECK(f.fake.calls == k_until_snapshot + k_status + Calls{"AbortBackup", "Release"} + k_created);
  CHECK(f.sink.warnings.empty());
  CHECK(line_starting(f.sink.infos, "VSS DoSnapshotSet: VSS_E_PROVIDER_VETO (0x80042306)")
            .find("retrying") != std::string::npos);
}

TEST_CASE("vss: a retryable writer error restarts the sequence, naming the writer", "[vss]") {
  Fixture f;
  auto healthy = f.fake.writers;
  auto failing = healthy;
  failing[0].state = VSS_WS_FAILED_AT_FREEZE;
  failing[0].failure = k_writer_retryable;
  f.fake.writer_status = {healthy, failing};
  auto session = f.snapshot();
  CHECK(f.fake.calls == k_until_snapshot + k_status +
                            Calls{"AbortBackup", "DeleteSnapshots", "Release"} + k_created);
  CHECK(f.sink.warnings.empty());
  CHECK_FALSE(line_starting(f.sink.infos,
                            "VSS writers after DoSnapshotSet: \"Fake SQL Writer\" [9] Failed at "
                            "freeze, VSS_E_WRITERERROR_RETRYABLE (0x800423F3)")
                  .empty());
  CHECK_FALSE(session->crash_consistent());
  session->complete(true);
  CHECK(f.fake.live_components == 0);
}

TEST_CASE("vss: a non-retryable writer failure keeps the snapshot, crash-consistent", "[vss]") {
  Fixture f;
  f.fake.writers.push_back(test::fake_writer(L"Healthy Writer", 2));
  auto healthy = f.fake.writers;
  auto failing = healthy;
  failing[0].state = VSS_WS_FAILED_AT_PREPARE_SNAPSHOT;
  failing[0].failure = k_writer_nonretryable;
  f.fake.writer_status = {healthy, failing};
  auto session = f.snapshot();
  CHECK(test::count_calls(f.fake.calls, "Create") == 1);
  CHECK(session->crash_consistent());
  REQUIRE(session->writers().size() == 2);
  CHECK(session->writers()[0].failed);
  CHECK(session->writers()[0].error_name == "VSS_E_WRITERERROR_NONRETRYABLE");
  CHECK_FALSE(session->writers()[1].failed);
  REQUIRE(f.sink.warnings.size() == 1);
  CHECK(f.sink.warnings[0].find("\"Fake SQL Writer\"") != std::string::npos);
  CHECK(f.sink.warnings[0].find("crash-consistent") != std::string::npos);
  session->complete(true);
  CHECK(Calls(f.fake.calls.end() - 8, f.fake.calls.end()) ==
        Calls{"BackupComplete"} + status_pass(2) + Calls{"DeleteSnapshots", "Release"});
}

TEST_CASE("vss: E_ACCESSDENIED at creation is a privilege error", "[vss]") {
  Fixture f;
  f.fake.results["Create"] = {E_ACCESSDENIED};
  try {
    f.snapshot();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::privilege);
    CHECK(std::string(e.what()).find(
              "VSS CreateVssBackupComponents: E_ACCESSDENIED (0x80070005): ") == 0);
    CHECK(std::string(e.what()).find("Run with highest privileges") != std::string::npos);
  }
  CHECK(f.fake.calls == Calls{"Create"});
}

TEST_CASE("vss: VSS_E_INSUFFICIENT_STORAGE from DoSnapshotSet aborts, never completes", "[vss]") {
  Fixture f;
  f.fake.async_results["DoSnapshotSet"] = {k_insufficient_storage};
  try {
    f.snapshot();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::vss);
    CHECK(std::string(e.what()) ==
          "VSS DoSnapshotSet: VSS_E_INSUFFICIENT_STORAGE (0x8004231F): not enough space for the "
          "shadow copy "
          "storage area; free space or resize it with vssadmin resize shadowstorage");
  }
  CHECK(f.fake.calls == k_until_snapshot + k_status + Calls{"AbortBackup", "Release"});
  CHECK(test::count_calls(f.fake.calls, "BackupComplete") == 0);
  CHECK(f.fake.live_components == 0);
  CHECK(f.records_text().find("{") == std::string::npos);
}

TEST_CASE("vss: a DoSnapshotSet that never finishes is cancelled and aborted at the deadline",
          "[vss]") {
  Fixture f;
  f.options.timeout_seconds = 0.3;
  f.fake.async_results["DoSnapshotSet"] = {k_never_finishes};
  const double start = monotonic_seconds();
  try {
    f.snapshot();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::vss);
    CHECK(std::string(e.what()).find("VSS DoSnapshotSet: did not finish within 0.3 s") == 0);
  }
  const double took = monotonic_seconds() - start;
  CHECK(took >= 0.3);
  CHECK(took < 10);
  CHECK(f.fake.calls == k_until_snapshot + Calls{"Cancel", "AbortBackup", "Release"});
  CHECK(f.fake.live_async == 0);
}

// Hidden: it sets the process-wide interrupt flag, so scripts/test-windows runs it in a
// process of its own ("[ctrl-c]").
TEST_CASE("vss: Ctrl+C while waiting cancels and aborts", "[.][ctrl-c]") {
  Fixture f;
  f.options.timeout_seconds = 60;
  f.fake.async_results["DoSnapshotSet"] = {k_never_finishes};
  int waits = 0;
  f.fake.on_wait = [&] {
    if (++waits == 5) request_interrupt();
  };
  const double start = monotonic_seconds();
  try {
    f.snapshot();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::interrupted);
  }
  CHECK(monotonic_seconds() - start < 10);
  CHECK(f.fake.calls == k_until_snapshot + Calls{"Cancel", "AbortBackup", "Release"});
}

TEST_CASE("vss: a persistent snapshot is kept, listed and deleted by prefix", "[vss]") {
  Fixture f;
  f.options.persistent = true;
  std::string id;
  {
    auto session = f.snapshot();
    id = session->volumes()[0].snapshot_id;
    session->complete(true);
  }
  CHECK(f.fake.context == VSS_CTX_APP_ROLLBACK);
  CHECK(test::count_calls(f.fake.calls, "SetContext") == 1);
  CHECK(test::count_calls(f.fake.calls, "DeleteSnapshots") == 0);
  auto listed = vss::list_snapshots(f.fake.backend(f.records()), f.sink);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].snapshot_id == id);
  CHECK(listed[0].persistent);
  CHECK(listed[0].pid == 0);
  CHECK(listed[0].device_path == "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1");

  f.fake.calls.clear();
  CHECK_THROWS_AS(vss::delete_snapshot(f.fake.backend(f.records()), "{00000000", f.sink), Error);
  auto deleted = vss::delete_snapshot(f.fake.backend(f.records()), id.substr(1, 8), f.sink);
  CHECK(deleted.snapshot_id == id);
  CHECK(f.fake.calls ==
        Calls{"Create", "InitializeForBackup", "SetContext", "DeleteSnapshots", "Release"});
  CHECK(vss::list_snapshots(f.fake.backend(f.records()), f.sink).empty());
}

TEST_CASE("vss: leftovers of a killed run are deleted by the next run", "[vss]") {
  Fixture f;
  {
    // A killed run (a pid that cannot exist) and a kept snapshot (pid 0).
    std::string text = vss::encode_records(
        {{"{DEAD0000-0000-0000-0000-000000000001}", "{DEAD0000-0000-0000-0000-000000000002}",
          "C:", "", 1, 4000000000, false},
         {"{00000000-0000-0000-0000-000000000003}", "{00000000-0000-0000-0000-000000000004}",
          "D:", "dev", 1, 0, true}});
    File out(f.records(), File::Open::create_new);
    out.append(text.data(), text.size());
  }
  auto session = f.snapshot();
  CHECK(f.fake.calls ==
        Calls{"Create", "InitializeForBackup", "SetContext", "DeleteSnapshots", "Release"} +
            k_created);
  std::string text = f.records_text();
  CHECK(text.find("DEAD0000") == std::string::npos);
  CHECK(text.find("{00000000-0000-0000-0000-000000000003}") != std::string::npos);  // kept (--keep)
  REQUIRE_FALSE(f.sink.infos.empty());
}

TEST_CASE("vss: list-writers reads metadata and status", "[vss]") {
  Fixture f;
  f.fake.writers[0].components = {{L"master", {}, {}}, {L"model", {}, {}}};
  f.fake.writers.push_back(test::fake_writer(L"Broken Writer", 2, VSS_WS_FAILED_AT_IDENTIFY,
                                             static_cast<HRESULT>(0x800423F2)));
  auto writers = vss::list_writers(f.fake.backend(f.records()), true, f.sink);
  CHECK(f.fake.calls == Calls{"Create", "InitializeForBackup", "SetBackupState",
                              "GatherWriterMetadata", "GetWriterMetadataCount", "GetWriterMetadata",
                              "GetWriterMetadata", "GatherWriterStatus", "GetWriterStatusCount",
                              "GetWriterStatus", "GetWriterStatus", "FreeWriterStatus",
                              "FreeWriterMetadata", "Release"});
  REQUIRE(writers.size() == 2);
  CHECK(writers[0].name == "Fake SQL Writer");
  CHECK(writers[0].writer_id == "{003217E7-FA4E-0001-0000-000000000001}");
  CHECK(writers[0].instance_id == "{00001257-FA4E-0001-0000-000000000001}");
  CHECK(writers[0].state == 1);
  CHECK(writers[0].state_name == "Stable");
  CHECK(writers[0].last_error_name == "S_OK");
  REQUIRE(writers[0].components.size() == 2);
  CHECK(writers[0].components[1].name == "model");
  CHECK(writers[0].components[1].logical_path == "Instance");
  CHECK(writers[0].components[1].type == "database");
  CHECK(writers[1].state == 6);
  CHECK(writers[1].state_name == "Failed at identify");
  CHECK(writers[1].last_error_name == "VSS_E_WRITERERROR_TIMEOUT");
  CHECK(f.fake.live_components == 0);
}

// Hidden: only meaningful under Wine, whose vssapi has no VSS (scripts/test-windows
// runs "[wine]"). On Windows the same calls would talk to the real service.
TEST_CASE("vss under Wine: the real vssapi reports E_NOTIMPL as a VSS error", "[.][wine]") {
  test::RecordingSink sink;
  test::TempDir dir;
  vss::Backend backend = vss::system_backend();
  backend.records_file = dir.path() / "snapshots.tsv";
  for (int round = 0; round < 2; ++round) {
    try {
      if (round == 0) {
        vss::list_writers(backend, false, sink);
      } else {
        vss::SnapshotOptions options;
        vss::create_snapshot(backend, {"C:"}, options, sink);
      }
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::vss);
      CHECK(std::string(e.what()).find(
                "VSS CreateVssBackupComponents: E_NOTIMPL (0x80004001): VSS is not "
                "available on this system") == 0);
    }
  }
}

// ---- component mode ------------------------------------------------------------------

namespace {

// A SQL-like writer: db1 wholly on C:, db2 with its log on E:, a non-selectable
// component without files; and a writer wholly on F:, which no backup here involves.
void add_database_writers(FakeVss& fake) {
  fake.writers[0].components = {
      {L"db1", {L"C:\\Data\\db1.mdf"}, {L"C:\\Logs\\db1.ldf"}},
      {L"db2", {L"C:\\Data\\db2.mdf"}, {L"E:\\Logs\\db2.ldf"}},
      {L"ServiceState", {}, {}, false},
  };
  fake.writers.push_back(test::fake_writer(L"Archive Writer", 2));
  fake.writers[1].components = {{L"archive", {L"F:\\Archive\\a.mdf"}, {}}};
}

const std::vector<std::wstring> k_all_of_sql = {L"Instance\\db1", L"Instance\\db2",
                                                L"Instance\\ServiceState"};

}  // namespace

TEST_CASE("vss components: only C: backed up leaves out the component with its log on E:",
          "[vss]") {
  Fixture f;
  add_database_writers(f.fake);
  auto session = f.snapshot({"C:"});
  CHECK(f.fake.added_components ==
        std::vector<std::wstring>{L"Instance\\db1", L"Instance\\ServiceState"});
  REQUIRE(f.sink.warnings.size() == 1);
  const std::string& w = f.sink.warnings[0];
  CHECK(w.find("VSS writer \"Fake SQL Writer\": component Instance\\db2 has files on E:") == 0);
  CHECK(w.find("add E: to the backup") != std::string::npos);
  CHECK(w.find("Archive") == std::string::npos);
  // The platform-neutral description, for the point.
  REQUIRE(session->components().size() == 2);
  CHECK(session->components()[0].writer_name == "Fake SQL Writer");
  CHECK(session->components()[0].logical_path == "Instance");
  CHECK(session->components()[0].name == "db1");
  CHECK(session->components()[1].name == "ServiceState");
  CHECK(session->components()[0].writer_id.size() == 38);  // {GUID}
  session->complete(true);
  CHECK(f.fake.succeeded_components == f.fake.added_components);
}

TEST_CASE("vss components: C: and E: in one set include every component of the writer", "[vss]") {
  Fixture f;
  add_database_writers(f.fake);
  auto session = f.snapshot({"C:", "E:"});
  CHECK(f.fake.added_components == k_all_of_sql);
  CHECK(f.sink.warnings.empty());
  session->complete(true);
  CHECK(f.fake.succeeded_components == k_all_of_sql);
}

TEST_CASE("vss components: a non-selectable component off the set leaves the whole writer out",
          "[vss]") {
  Fixture f;
  add_database_writers(f.fake);
  f.fake.writers[0].components[2].log_files = {L"E:\\State\\state.log"};
  auto session = f.snapshot({"C:"});
  CHECK(f.fake.added_components.empty());
  REQUIRE(f.sink.warnings.size() == 2);
  CHECK(f.sink.warnings[1].find("component Instance\\ServiceState has files on E:") !=
        std::string::npos);
  CHECK(f.sink.warnings[1].find("the whole writer") != std::string::npos);
  session->complete(true);
  CHECK(test::count_calls(f.fake.calls, "SetBackupSucceeded") == 0);
}

TEST_CASE("vss components: the exact call order of a component-mode backup", "[vss]") {
  Fixture f;
  add_database_writers(f.fake);
  auto session = f.snapshot({"C:", "E:"});
  const Calls until_snapshot =
      k_metadata +
      Calls{"GetWriterMetadata", "AddComponent",     "AddComponent",     "AddComponent",
            "StartSnapshotSet",  "AddToSnapshotSet", "AddToSnapshotSet", "PrepareForBackup"} +
      status_pass(2) + Calls{"DoSnapshotSet"} + status_pass(2) +
      Calls{"SaveAsXML", "GetSnapshotProperties", "GetSnapshotProperties"};
  CHECK(f.fake.calls == until_snapshot);
  CHECK(f.fake.succeeded_components.empty());  // not before the points are committed
  session->complete(true);
  CHECK(f.fake.calls == until_snapshot +
                            Calls{"SetBackupSucceeded", "SetBackupSucceeded", "SetBackupSucceeded",
                                  "BackupComplete"} +
                            status_pass(2) + Calls{"DeleteSnapshots", "Release"});
}

TEST_CASE("vss components: no SetBackupSucceeded after a failure", "[vss]") {
  Fixture f;
  add_database_writers(f.fake);
  SECTION("the backup is abandoned after the snapshot") {
    auto session = f.snapshot({"C:", "E:"});
    session->complete(false);
  }
  SECTION("DoSnapshotSet fails") {
    f.fake.async_results["DoSnapshotSet"] = {k_insufficient_storage};
    CHECK_THROWS_AS(f.snapshot({"C:", "E:"}), Error);
  }
  CHECK(f.fake.added_components == k_all_of_sql);
  CHECK(test::count_calls(f.fake.calls, "SetBackupSucceeded") == 0);
  CHECK(test::count_calls(f.fake.calls, "BackupComplete") == 0);
  CHECK(test::count_calls(f.fake.calls, "AbortBackup") == 1);
  CHECK(f.fake.live_components == 0);
}

TEST_CASE("vss components: a left-out component is reported once across retries", "[vss]") {
  Fixture f;
  add_database_writers(f.fake);
  f.fake.results["StartSnapshotSet"] = {k_in_progress};
  auto session = f.snapshot({"C:"});
  CHECK(test::count_calls(f.fake.calls, "Create") == 2);
  CHECK(f.sink.warnings.size() == 1);
  session->complete(true);
}

TEST_CASE("vss components: a writer failed after BackupComplete is a warning", "[vss]") {
  Fixture f;
  add_database_writers(f.fake);
  auto healthy = f.fake.writers;
  auto failing = healthy;
  failing[0].state = VSS_WS_FAILED_AT_BACKUP_COMPLETE;
  failing[0].failure = k_writer_nonretryable;
  f.fake.writer_status = {healthy, healthy, failing};
  auto session = f.snapshot({"C:", "E:"});
  CHECK(f.sink.warnings.empty());
  session->complete(true);
  REQUIRE(f.sink.warnings.size() == 1);
  CHECK(f.sink.warnings[0].find("VSS writer \"Fake SQL Writer\" failed after BackupComplete: [12] "
                                "Failed at backup complete") == 0);
  CHECK(Calls(f.fake.calls.end() - 2, f.fake.calls.end()) == Calls{"DeleteSnapshots", "Release"});
}

// ---- retries ---------------------------------------------------------------------------

TEST_CASE("vss retries: every transient HRESULT restarts the whole sequence", "[vss]") {
  const uint32_t transient[] = {0x80042313, 0x80042314, 0x80042306, 0x80042316, 0x80042319,
                                0x80042315, 0x8004231D, 0x80042307, 0x80042328};
  for (uint32_t code : transient) {
    Fixture f;
    f.fake.async_results["DoSnapshotSet"] = {static_cast<HRESULT>(code)};
    auto session = f.snapshot();
    CHECK(test::count_calls(f.fake.calls, "Create") == 2);
    CHECK(f.sink.warnings.empty());
    CHECK(line_starting(f.sink.infos, "VSS DoSnapshotSet: " + vss::hresult_name(code))
              .find("retrying") != std::string::npos);
    session->complete(true);
  }
}

TEST_CASE("vss retries: the wait doubles and one line names every failed writer", "[vss]") {
  Fixture f;
  f.fake.writers.push_back(test::fake_writer(L"Exchange Writer", 2));
  auto healthy = f.fake.writers;
  auto failing = healthy;
  for (auto& w : failing) {
    w.state = VSS_WS_FAILED_AT_FREEZE;
    w.failure = k_writer_retryable;
  }
  // DoSnapshotSet fails outright twice; the status pass then shows both writers failed.
  f.fake.async_results["DoSnapshotSet"] = {static_cast<HRESULT>(0x80042302),
                                           static_cast<HRESULT>(0x80042302)};
  f.fake.writer_status = {healthy, failing, healthy, failing};
  auto session = f.snapshot();
  CHECK(test::count_calls(f.fake.calls, "Create") == 3);
  CHECK(f.fake.sleeps == std::vector<double>{0.01, 0.02});
  REQUIRE(f.sink.infos.size() >= 2);
  const std::string& line = line_starting(f.sink.infos, "VSS DoSnapshotSet: VSS_E_UNEXPECTED");
  CHECK(line.find("failed writers: \"Fake SQL Writer\" [9] Failed at freeze") != std::string::npos);
  CHECK(line.find("; \"Exchange Writer\" [9] Failed at freeze") != std::string::npos);
  CHECK(line.find("retrying in 0.01 s (attempt 2 of 4)") != std::string::npos);
  CHECK(f.sink.warnings.empty());
  session->complete(true);
}

TEST_CASE("vss retries: on the last attempt a retryable writer is crash-consistent", "[vss]") {
  Fixture f;
  f.options.retries = 1;
  auto failing = f.fake.writers;
  failing[0].state = VSS_WS_FAILED_AT_FREEZE;
  failing[0].failure = k_writer_retryable;
  f.fake.writer_status = {f.fake.writers, failing, f.fake.writers, failing};
  auto session = f.snapshot();
  CHECK(test::count_calls(f.fake.calls, "Create") == 2);
  CHECK(session->crash_consistent());
  REQUIRE(f.sink.warnings.size() == 1);
  CHECK(f.sink.warnings[0].find("VSS writer \"Fake SQL Writer\" failed after DoSnapshotSet") == 0);
  CHECK(f.sink.warnings[0].find("retries are used up") != std::string::npos);
  session->complete(true);
  CHECK(test::count_calls(f.fake.calls, "BackupComplete") == 1);
}
