// A scripted, in-process fake of IVssBackupComponents (with fake IVssAsync and writer
// metadata) that drives the real wrapper in vss/*_win32.cpp under Wine or Windows.
// Every call lands in FakeVss::calls, so tests assert the exact VSS call order. It
// follows Microsoft's state machine where the requester can get it wrong: AddComponent
// without component mode or after PrepareForBackup, SetBackupSucceeded before a
// finished DoSnapshotSet, BackupComplete twice, SaveAsXML before the set exists,
// AbortBackup before StartSnapshotSet, and backup steps after AbortBackup return
// VSS_E_BAD_STATE (logged as "AddComponent: bad state" etc.).
#pragma once

#include "vss/vss_win32.hpp"

#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace vssimg::test {

// An async status that never finishes (until Cancel()).
constexpr HRESULT k_never_finishes = static_cast<HRESULT>(0x7FFF0001);

// A writer component and the files it names (paths like "E:\Logs\db.ldf"; the fake
// volume of a path is its drive letter).
struct FakeComponent {
  std::wstring name;
  std::vector<std::wstring> database_files;
  std::vector<std::wstring> log_files;
  bool selectable = true;
  std::wstring logical_path = L"Instance";
};

// How a fake writer reacts to BackupComplete (what the real ones are known to do).
enum class WriterKind {
  plain,
  sql,       // "differential base set" for a FULL component-mode backup whose components it
             // was told succeeded (SetBackupSucceeded); "copy only" for such a COPY backup
  exchange,  // "logs truncated" only for such a FULL backup
};

struct FakeWriter {
  std::wstring name;
  WriterKind kind = WriterKind::plain;
  GUID writer_id;
  GUID instance_id;
  VSS_WRITER_STATE state = VSS_WS_STABLE;
  HRESULT failure = S_OK;
  std::vector<FakeComponent> components;
};

FakeWriter fake_writer(const std::wstring& name, int number, VSS_WRITER_STATE state = VSS_WS_STABLE,
                       HRESULT failure = S_OK);

class FakeVss {
 public:
  FakeVss();

  // The log: "Create", "InitializeForBackup", ..., "Cancel", "Release" (last reference).
  std::vector<std::string> calls;
  // Immediate results per method name, consumed one per call (default S_OK).
  std::map<std::string, std::deque<HRESULT>> results;
  // Final status of the IVssAsync a method hands out, one per call (default finished);
  // k_never_finishes keeps it pending until Cancel.
  std::map<std::string, std::deque<HRESULT>> async_results;
  // Writers for each GatherWriterStatus in turn; when exhausted, `writers`.
  std::deque<std::vector<FakeWriter>> writer_status;
  std::vector<FakeWriter> writers;
  // What GetSnapshotProperties reports as the device (an image file in the store tests).
  std::wstring device_path = L"\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1";
  // Called on every IVssAsync::Wait slice (tests request Ctrl+C from here).
  std::function<void()> on_wait;
  // Cancel() of an operation that never finishes makes it finish instead (the cancel
  // came too late: a DoSnapshotSet's set then exists).
  bool finish_on_cancel = false;

  // Observations.
  std::vector<std::wstring> added_volumes;
  // "Instance\master" per AddComponent / SetBackupSucceeded(TRUE) the fake accepted.
  std::vector<std::wstring> added_components;
  std::vector<std::wstring> succeeded_components;
  LONG context = VSS_CTX_BACKUP;
  int backup_type = -1;
  bool component_mode = false;  // SetBackupState's selectComponents, last call
  int live_components = 0;
  int live_async = 0;
  int freed_properties = 0;
  std::vector<double> sleeps;
  // "Fake SQL Writer: differential base set", ... at BackupComplete (WriterKind).
  std::vector<std::string> writer_events;
  // Shadow copy sets DoSnapshotSet made that still exist: deleted by DeleteSnapshots or,
  // for non-persistent ones (VSS_CTX_BACKUP), by releasing their object.
  int sets_alive = 0;
  // The process-wide COM calls in order: "CoInitializeEx", "CoInitializeSecurity",
  // "DisableExceptionHandling", "CoUninitialize" (results: `results` under those names),
  // and how many of them had been made when the first backup components object was created.
  std::vector<std::string> com_calls;
  size_t com_calls_at_first_create = 0;
  bool created_any = false;
  // secure_path calls: "<path>|<sddl>".
  std::vector<std::string> secured;

  // A Backend whose components are this fake; volumes resolve to fake GUID names; no
  // real sleeping; snapshot records in `records_file`; COM calls logged in com_calls (one
  // ComProcess per FakeVss, as one per process for the real system).
  vss::Backend backend(const std::filesystem::path& records_file);
  std::shared_ptr<vss::ComProcess> com;

  HRESULT next_result(const std::string& method);
  HRESULT next_async(const std::string& method);
  std::vector<FakeWriter> next_writer_status();
};

// The number of calls named `name` in the log.
size_t count_calls(const std::vector<std::string>& calls, const std::string& name);

}  // namespace vssimg::test
