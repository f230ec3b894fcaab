// The requester around the backup sequence, driven by the fake (tests/vss/fake_vss.*):
// --exclude-writer, the backup components document, COM once per process, the abort
// guard, Cancel racing DoSnapshotSet, what SQL Server and Exchange writers do per backup
// type, the snapshot record file, the sector size of shadow devices, and Ctrl+Break.
#include "tests/vss/fake_vss.hpp"
#include "tests/win32/win_test_util.hpp"

#include "core/base/error.hpp"
#include "core/os/file.hpp"
#include "core/os/platform.hpp"
#include "core/os/win32.hpp"
#include "core/source/block_source_win32.hpp"
#include "vss/vss_records.hpp"

#include "tests/catch.hpp"

#include <aclapi.h>

#include <thread>

using namespace vssimg;
using vssimg::test::FakeVss;
using vssimg::test::k_never_finishes;
using Calls = std::vector<std::string>;

namespace {

constexpr HRESULT k_in_progress = static_cast<HRESULT>(0x80042316);
constexpr HRESULT k_writer_retryable = static_cast<HRESULT>(0x800423F3);

struct Fixture {
  test::TempDir dir;
  FakeVss fake;
  test::RecordingSink sink;
  vss::SnapshotOptions options;
  Fixture() {
    options.retry_delay_seconds = 0.01;
    options.timeout_seconds = 5;
    options.wait_slice_seconds = 0.01;
  }
  std::filesystem::path records() const { return dir.path() / "vssimg" / "snapshots.tsv"; }
  vss::Backend backend() { return fake.backend(records()); }
  std::unique_ptr<vss::SnapshotSession> snapshot(std::vector<std::string> volumes = {"C:"}) {
    return vss::create_snapshot(backend(), volumes, options, sink);
  }
  std::string records_text() const {
    std::error_code ec;
    return std::filesystem::exists(records(), ec) ? read_small_file(records(), 1 << 20) : "";
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

size_t lines_containing(const std::vector<std::string>& lines, const std::string& part) {
  size_t n = 0;
  for (const auto& l : lines) n += contains(l, part) ? 1 : 0;
  return n;
}

// A SQL Server-like writer (db1, db2 on C:) and an Exchange-like one (a mailbox
// database with its logs on C:).
void add_sql_and_exchange(FakeVss& fake) {
  fake.writers[0].components = {{L"db1", {L"C:\\Data\\db1.mdf"}, {L"C:\\Logs\\db1.ldf"}},
                                {L"db2", {L"C:\\Data\\db2.mdf"}, {L"C:\\Logs\\db2.ldf"}}};
  fake.writers.push_back(test::fake_writer(L"Fake Exchange Writer", 2));
  fake.writers[1].kind = test::WriterKind::exchange;
  fake.writers[1].components = {{L"Mailbox1", {L"C:\\Ex\\mb1.edb"}, {L"C:\\Ex\\Logs\\E00.log"}}};
}

}  // namespace

// ---- --exclude-writer --------------------------------------------------------------------

TEST_CASE("vss exclude: a writer excluded by name, writer id or instance id adds nothing",
          "[vss]") {
  const std::string by = GENERATE(std::string("fake sql WRITER"),
                                  std::string("{003217e7-fa4e-0001-0000-000000000001}"),
                                  std::string("00001257-FA4E-0001-0000-000000000001"));
  Fixture f;
  add_sql_and_exchange(f.fake);
  f.options.exclude_writers = {by};
  f.fake.results["StartSnapshotSet"] = {k_in_progress};  // said once across the retry
  auto session = f.snapshot();
  // Once per attempt (the first one failed at StartSnapshotSet); never a SQL component.
  CHECK(f.fake.added_components ==
        std::vector<std::wstring>{L"Instance\\Mailbox1", L"Instance\\Mailbox1"});
  CHECK(lines_containing(f.sink.infos, "VSS writer \"Fake SQL Writer\"") == 1);
  CHECK(lines_containing(f.sink.infos, "is excluded (--exclude-writer)") == 1);
  CHECK(f.sink.warnings.empty());
  REQUIRE(session->components().size() == 1);
  CHECK(session->components()[0].writer_name == "Fake Exchange Writer");
  session->complete(true);
  CHECK(f.fake.succeeded_components == std::vector<std::wstring>{L"Instance\\Mailbox1"});
}

TEST_CASE("vss exclude: an excluded writer's components off the set are not warned about",
          "[vss]") {
  Fixture f;
  f.fake.writers[0].components = {{L"db2", {L"C:\\Data\\db2.mdf"}, {L"E:\\Logs\\db2.ldf"}}};
  f.options.exclude_writers = {"Fake SQL Writer", "No Such Writer"};
  auto session = f.snapshot();
  CHECK(f.fake.added_components.empty());
  CHECK(f.sink.warnings.empty());  // no "add E: to the backup": the writer is left out
  CHECK(lines_containing(f.sink.infos, "excluded") == 1);
  CHECK(session->components_document().empty());
  CHECK(test::count_calls(f.fake.calls, "SaveAsXML") == 0);
}

// ---- the backup components document ----------------------------------------------------

TEST_CASE("vss document: SaveAsXML once DoSnapshotSet succeeded, as UTF-8", "[vss]") {
  Fixture f;
  add_sql_and_exchange(f.fake);
  f.options.backup_type = vss::BackupType::full;
  auto session = f.snapshot();
  const std::string& xml = session->components_document();
  CHECK(xml.rfind("<BACKUP_COMPONENTS backupType=\"FULL\" selectComponents=\"yes\">", 0) == 0);
  CHECK(contains(xml, "<COMPONENT name=\"Instance\\db1\"/>"));
  CHECK(contains(xml, "<COMPONENT name=\"Instance\\db2\"/>"));
  CHECK(contains(xml, "<COMPONENT name=\"Instance\\Mailbox1\"/>"));
  // After the status pass of DoSnapshotSet, before the device paths are read.
  auto at = std::find(f.fake.calls.begin(), f.fake.calls.end(), "SaveAsXML");
  REQUIRE(at != f.fake.calls.end());
  CHECK(*(at - 1) == "FreeWriterStatus");
  CHECK(*(at + 1) == "GetSnapshotProperties");
  CHECK(test::count_calls(f.fake.calls, "SaveAsXML: bad state") == 0);
  session->complete(true);
}

// ---- COM once per process ----------------------------------------------------------------

TEST_CASE("vss COM: initialised once before any VSS object, kept across retries", "[vss]") {
  Fixture f;
  f.fake.results["StartSnapshotSet"] = {k_in_progress, k_in_progress};
  auto session = f.snapshot();
  session->complete(true);
  const Calls once = {"CoInitializeEx", "CoInitializeSecurity", "DisableExceptionHandling"};
  CHECK(test::count_calls(f.fake.calls, "Create") == 3);
  CHECK(f.fake.com_calls == once);
  CHECK(f.fake.com_calls_at_first_create == 3);
  // A second backup, list-writers and snapshot list in the same process: still once.
  f.snapshot()->complete(true);
  vss::list_writers(f.backend(), false, f.sink);
  vss::list_snapshots(f.backend(), f.sink);
  CHECK(f.fake.com_calls == once);
}

TEST_CASE("vss COM: RPC_E_TOO_LATE and RPC_E_CHANGED_MODE are tolerated", "[vss]") {
  Calls log;
  std::map<std::string, HRESULT> result;
  auto call = [&](const char* name) {
    return [&log, &result, name] {
      log.push_back(name);
      return result.count(name) ? result[name] : S_OK;
    };
  };
  vss::ComCalls calls;
  calls.initialize = call("CoInitializeEx");
  calls.initialize_security = call("CoInitializeSecurity");
  calls.disable_exception_handling = call("DisableExceptionHandling");
  calls.uninitialize = [&] { log.push_back("CoUninitialize"); };
  test::RecordingSink sink;
  SECTION("security set before: an info line, no error; uninitialised at the end") {
    result["CoInitializeSecurity"] = RPC_E_TOO_LATE;
    {
      vss::ComProcess com(calls);
      com.ensure(sink);
      com.ensure(sink);
    }
    CHECK(log == Calls{"CoInitializeEx", "CoInitializeSecurity", "DisableExceptionHandling",
                       "CoUninitialize"});
    REQUIRE(sink.infos.size() == 1);
    CHECK(contains(sink.infos[0], "RPC_E_TOO_LATE"));
  }
  SECTION("COM in another mode: going on, never uninitialised") {
    result["CoInitializeEx"] = RPC_E_CHANGED_MODE;
    { vss::ComProcess(calls).ensure(sink); }
    CHECK(log == Calls{"CoInitializeEx", "CoInitializeSecurity", "DisableExceptionHandling"});
  }
  SECTION("a real failure is a VSS error, and the next ensure tries again") {
    result["CoInitializeSecurity"] = E_OUTOFMEMORY;
    vss::ComProcess com(calls);
    try {
      com.ensure(sink);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::vss);
      CHECK(std::string(e.what()).rfind("VSS CoInitializeSecurity: E_OUTOFMEMORY", 0) == 0);
    }
    result.clear();
    com.ensure(sink);
    CHECK(test::count_calls(log, "CoInitializeEx") == 1);
    CHECK(test::count_calls(log, "CoInitializeSecurity") == 2);
  }
}

TEST_CASE("vss COM: the real calls under Wine (exception handling off, security once)", "[vss]") {
  test::RecordingSink sink;
  vss::ComProcess com(vss::system_com_calls());
  com.ensure(sink);
  // A second process-wide object: Windows answers RPC_E_TOO_LATE (an info line), Wine 8
  // S_OK again; neither is an error.
  vss::ComProcess again(vss::system_com_calls());
  again.ensure(sink);
  CHECK(lines_containing(sink.infos, "RPC_E_TOO_LATE") <= 1);
  // IGlobalOptions exists (Wine has it too) and takes COMGLB_EXCEPTION_DONOT_HANDLE.
  CHECK(lines_containing(sink.infos, "IGlobalOptions") == 0);
}

// ---- the abort guard ----------------------------------------------------------------------

TEST_CASE("vss abort: armed at StartSnapshotSet, not before", "[vss]") {
  Fixture f;
  SECTION("AddToSnapshotSet fails: AbortBackup, then Release") {
    f.fake.results["AddToSnapshotSet"] = {static_cast<HRESULT>(0x8004230C)};
    CHECK_THROWS_AS(f.snapshot(), Error);
    Calls tail(f.fake.calls.end() - 4, f.fake.calls.end());
    CHECK(tail == Calls{"StartSnapshotSet", "AddToSnapshotSet", "AbortBackup", "Release"});
  }
  SECTION("StartSnapshotSet itself fails: no set, nothing to abort") {
    f.fake.results["StartSnapshotSet"] = {E_OUTOFMEMORY};
    CHECK_THROWS_AS(f.snapshot(), Error);
    CHECK(test::count_calls(f.fake.calls, "AbortBackup") == 0);
    CHECK(f.fake.calls.back() == "Release");
  }
  SECTION("GatherWriterMetadata fails: nothing to abort") {
    f.fake.async_results["GatherWriterMetadata"] = {static_cast<HRESULT>(0x80042318)};
    CHECK_THROWS_AS(f.snapshot(), Error);
    CHECK(test::count_calls(f.fake.calls, "AbortBackup") == 0);
  }
  CHECK(test::count_calls(f.fake.calls, "AbortBackup: bad state") == 0);
  CHECK(f.fake.live_components == 0);
}

// ---- Cancel racing DoSnapshotSet -------------------------------------------------------

TEST_CASE("vss cancel: a DoSnapshotSet that finishes on Cancel leaves no orphan", "[vss]") {
  Fixture f;
  const bool persistent = GENERATE(true, false);
  f.options.persistent = persistent;  // snapshot --keep
  f.options.timeout_seconds = 0.05;
  f.fake.async_results["DoSnapshotSet"] = {k_never_finishes};
  f.fake.finish_on_cancel = true;
  try {
    f.snapshot();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::vss);
    CHECK(contains(e.what(), "VSS DoSnapshotSet: did not finish within 0.05 s"));
  }
  Calls tail(f.fake.calls.end() - 5, f.fake.calls.end());
  CHECK(tail == Calls{"DoSnapshotSet", "Cancel", "AbortBackup", "DeleteSnapshots", "Release"});
  CHECK(f.fake.sets_alive == 0);
  CHECK(test::count_calls(f.fake.calls, "BackupComplete") == 0);
  CHECK_FALSE(contains(f.records_text(), "{"));
  CHECK(f.fake.live_async == 0);
}

TEST_CASE("vss cancel: a cancel that takes effect makes no set to delete", "[vss]") {
  Fixture f;
  f.options.persistent = true;
  f.options.timeout_seconds = 0.05;
  f.fake.async_results["DoSnapshotSet"] = {k_never_finishes};
  CHECK_THROWS_AS(f.snapshot(), Error);
  CHECK(test::count_calls(f.fake.calls, "DeleteSnapshots") == 0);
  CHECK(f.fake.sets_alive == 0);
}

// ---- SQL Server and Exchange by backup type ---------------------------------------------

TEST_CASE("vss writers: copy and full on one volume", "[vss]") {
  Fixture f;
  add_sql_and_exchange(f.fake);
  SECTION("copy: SQL records a copy-only backup, Exchange keeps its logs") {
    f.snapshot()->complete(true);
    CHECK(f.fake.backup_type == VSS_BT_COPY);
    CHECK(f.fake.writer_events == Calls{"Fake SQL Writer: copy only"});
  }
  SECTION("full: SQL sets its differential base, Exchange truncates its logs") {
    f.options.backup_type = vss::BackupType::full;
    f.snapshot()->complete(true);
    CHECK(f.fake.writer_events ==
          Calls{"Fake SQL Writer: differential base set", "Fake Exchange Writer: logs truncated"});
  }
  SECTION("full, but the backup failed: nothing happens to either") {
    f.options.backup_type = vss::BackupType::full;
    f.snapshot()->complete(false);
    CHECK(f.fake.writer_events.empty());
  }
  SECTION("full, the SQL writer excluded: only Exchange truncates") {
    f.options.backup_type = vss::BackupType::full;
    f.options.exclude_writers = {"Fake SQL Writer"};
    f.snapshot()->complete(true);
    CHECK(f.fake.writer_events == Calls{"Fake Exchange Writer: logs truncated"});
  }
  CHECK(f.fake.component_mode);
}

TEST_CASE("vss list-writers: component mode, a metadata and status pass only", "[vss]") {
  Fixture f;
  add_sql_and_exchange(f.fake);
  auto writers = vss::list_writers(f.backend(), true, f.sink);
  CHECK(f.fake.component_mode);
  CHECK(f.fake.backup_type == VSS_BT_COPY);
  CHECK(test::count_calls(f.fake.calls, "StartSnapshotSet") == 0);
  CHECK(test::count_calls(f.fake.calls, "AddComponent") == 0);
  REQUIRE(writers.size() == 2);
  CHECK(writers[1].components.size() == 1);
  CHECK(writers[1].components[0].name == "Mailbox1");
}

// ---- retry defaults -------------------------------------------------------------------

TEST_CASE("vss retries: the default waits (5, 10, 20 minutes) come from Backend::sleep", "[vss]") {
  Fixture f;
  f.options = vss::SnapshotOptions{};
  f.options.wait_slice_seconds = 0.01;
  auto failing = f.fake.writers;
  failing[0].state = VSS_WS_FAILED_AT_FREEZE;
  failing[0].failure = k_writer_retryable;
  f.fake.writer_status = {f.fake.writers, failing, f.fake.writers, failing,
                          f.fake.writers, failing, f.fake.writers, failing};
  auto session = f.snapshot();
  CHECK(f.fake.sleeps == std::vector<double>{300, 600, 1200});
  CHECK(session->crash_consistent());  // the last attempt keeps the snapshot
  CHECK(lines_containing(f.sink.infos, "retrying in 300 s (attempt 2 of 4)") == 1);
  session->complete(true);
}

// ---- the snapshot record file -------------------------------------------------------------

TEST_CASE("vss records: written with magic and checksum, folder and file owner-only", "[vss]") {
  Fixture f;
  auto session = f.snapshot();
  const std::string text = f.records_text();
  CHECK(text.rfind("VSSIMG-SNAPSHOT-RECORDS 2 ", 0) == 0);
  auto records = vss::decode_records(text, "x");
  REQUIRE(records.size() == 1);
  CHECK(records[0].pid == process_id());
  session->complete(true);
  const std::string folder = win32::utf8_path(f.records().parent_path());
  const std::string file = win32::utf8_path(f.records());
  CHECK(std::count(f.fake.secured.begin(), f.fake.secured.end(),
                   folder + "|D:P(A;OICI;GA;;;SY)(A;OICI;GA;;;BA)") >= 1);
  CHECK(std::count(f.fake.secured.begin(), f.fake.secured.end(),
                   file + "|D:P(A;;GA;;;SY)(A;;GA;;;BA)") >= 1);
  // No temporary file is left beside it (AtomicFile).
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(f.records().parent_path())) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);
}

TEST_CASE("vss records: a damaged file is reported, moved aside and not trusted", "[vss]") {
  Fixture f;
  std::filesystem::create_directories(f.records().parent_path());
  vss::SnapshotRecord dead{"{DEAD0000-0000-0000-0000-000000000001}",
                           "{DEAD0000-0000-0000-0000-000000000002}",
                           "C:",
                           "",
                           1,
                           4000000000,
                           false};
  std::string bytes = vss::encode_records({dead});
  bytes[bytes.size() - 3] ^= 0x20;  // the body changed, the checksum not
  {
    File out(f.records(), File::Open::create_new);
    out.append(bytes.data(), bytes.size());
  }
  auto session = f.snapshot();
  // The dead run's snapshot is not deleted on the word of a damaged file.
  CHECK(test::count_calls(f.fake.calls, "DeleteSnapshots") == 0);
  REQUIRE(f.sink.warnings.size() == 1);
  CHECK(contains(f.sink.warnings[0], "reading snapshot records"));
  CHECK(contains(f.sink.warnings[0], "checksum mismatch"));
  CHECK(contains(f.sink.warnings[0], "snapshots.tsv.damaged"));
  CHECK(std::filesystem::exists(f.records().string() + ".damaged"));
  CHECK(f.records_text().rfind("VSSIMG-SNAPSHOT-RECORDS 2 ", 0) == 0);
  session->complete(true);
}

TEST_CASE("vss records: the real protected DACL call under Wine", "[vss]") {
  test::TempDir dir;
  auto folder = dir.path() / "vssimg";
  std::filesystem::create_directories(folder);
  vss::set_protected_dacl(folder, L"D:P(A;OICI;GA;;;SY)(A;OICI;GA;;;BA)");
  // What the system stores (Wine keeps it but does not enforce it; Windows enforces it).
  PACL dacl = nullptr;
  PSECURITY_DESCRIPTOR sd = nullptr;
  std::wstring wide = folder.native();
  DWORD rc = ::GetNamedSecurityInfoW(wide.c_str(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION,
                                     nullptr, nullptr, &dacl, nullptr, &sd);
  REQUIRE(rc == ERROR_SUCCESS);
  REQUIRE(dacl != nullptr);
  // Windows stores exactly these two entries, protected. Wine 8 accepts the call but
  // stores something else (SYSTEM and two other entries, not protected) and enforces
  // no DACL at all, so there only the call itself is checked.
  auto has_ace_for = [&](WELL_KNOWN_SID_TYPE type) {
    BYTE sid[SECURITY_MAX_SID_SIZE];
    DWORD size = sizeof sid;
    if (!::CreateWellKnownSid(type, nullptr, sid, &size)) return false;
    for (DWORD i = 0; i < dacl->AceCount; ++i) {
      ACCESS_ALLOWED_ACE* ace = nullptr;
      if (::GetAce(dacl, i, reinterpret_cast<void**>(&ace)) &&
          ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE && ::EqualSid(&ace->SidStart, sid)) {
        return true;
      }
    }
    return false;
  };
  const bool wine =
      ::GetProcAddress(::GetModuleHandleW(L"ntdll.dll"), "wine_get_version") != nullptr;
  if (!wine) {
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD revision = 0;
    ::GetSecurityDescriptorControl(sd, &control, &revision);
    CHECK(dacl->AceCount == 2);
    CHECK((control & SE_DACL_PROTECTED) != 0);
    CHECK(has_ace_for(WinLocalSystemSid));
    CHECK(has_ace_for(WinBuiltinAdministratorsSid));
  }
  ::LocalFree(sd);
  CHECK_THROWS_AS(vss::set_protected_dacl(dir.path() / "missing", L"D:P(A;;GA;;;SY)"), Error);
}

// ---- shadow devices: the sector size ---------------------------------------------------

TEST_CASE("vss device: the sector size comes from the device, else its volume, never a guess",
          "[vss]") {
  using win32::SectorAnswers;
  CHECK(win32::choose_sector_size(SectorAnswers{4096, 512, 512, 512}, "d") == 4096);
  CHECK(win32::choose_sector_size(SectorAnswers{0, 512, 4096, 4096}, "d") == 512);
  CHECK(win32::choose_sector_size(SectorAnswers{0, 0, 4096, 512}, "d") == 4096);
  CHECK(win32::choose_sector_size(SectorAnswers{0, 0, 0, 512}, "d") == 512);
  CHECK(win32::choose_sector_size(SectorAnswers{3000, 0, 0, 512}, "d") == 512);
  try {
    win32::choose_sector_size(SectorAnswers{}, "\\\\?\\GLOBALROOT\\Device\\X");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).rfind("reading sector size of \\\\?\\GLOBALROOT\\Device\\X: ", 0) ==
          0);
  }
}

TEST_CASE("vss device: the tail read stays inside the device", "[vss]") {
  const uint64_t size = 10 * 4096;
  auto tail = win32::aligned_span(size - 100, size, 4096, 1 << 20, size);
  CHECK(tail.start == 9 * 4096);
  CHECK(tail.stop == size);
  auto big = win32::aligned_span(100, size, 4096, 4 * 4096, size);
  CHECK(big.start == 0);
  CHECK(big.stop == 4 * 4096);
  // A size that is not a whole number of sectors (an image file): the last sector only.
  auto file = win32::aligned_span(900, 1000, 512, 1 << 20, 1000);
  CHECK(file.start == 512);
  CHECK(file.stop == 1024);
}

TEST_CASE("vss device: the session tells the device opener each device's volume", "[vss]") {
  Fixture f;
  auto session = f.snapshot({"C:", "D:"});
  const auto& v = session->volumes();
  REQUIRE(v.size() == 2);
  CHECK(win32::shadow_origin(v[1].device_path) == v[1].volume_name);
  CHECK(win32::shadow_origin(v[1].device_path + "\\") == v[1].volume_name);
  session->complete(true);
  CHECK_FALSE(win32::shadow_origin(v[0].device_path).has_value());
}

// ---- Ctrl+Break ----------------------------------------------------------------------------

// Hidden: it sets the process-wide interrupt flag, so it runs in a process of its own
// ("[ctrl-break]"). The event is delivered as Windows delivers it, to the registered handler
// on a thread of its own; that Windows raises it for the key (GenerateConsoleCtrlEvent fails
// under Wine 8) only real Windows shows.
TEST_CASE("vss: Ctrl+Break while waiting cancels and aborts", "[.][ctrl-break]") {
  install_interrupt_handlers();
  Fixture f;
  f.options.timeout_seconds = 60;
  f.fake.async_results["DoSnapshotSet"] = {k_never_finishes};
  int waits = 0;
  f.fake.on_wait = [&] {
    if (++waits != 5) return;
    BOOL handled = FALSE;
    std::thread([&] { handled = win32::console_event_handler(CTRL_BREAK_EVENT); }).join();
    CHECK(handled);
  };
  try {
    f.snapshot();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::interrupted);
    CHECK(contains(e.what(), "interrupted by the user (Ctrl+Break)"));
  }
  CHECK(interrupt_signal() == InterruptSignal::interrupt);
  Calls tail(f.fake.calls.end() - 4, f.fake.calls.end());
  CHECK(tail == Calls{"DoSnapshotSet", "Cancel", "AbortBackup", "Release"});
}
