// The HRESULTs users hit with VSS and the writer states, in one table each.
// Platform-neutral so the Linux unit tests check them too.
#include "vss/vss.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>

namespace vssimg::vss {

namespace {

constexpr std::array k_hresults = {
    HresultInfo{0x00000000, "S_OK", "success", "", Retry::no},
    HresultInfo{0x00042309, "VSS_S_ASYNC_PENDING", "the operation is still running", "", Retry::no},
    HresultInfo{0x0004230A, "VSS_S_ASYNC_FINISHED", "the operation finished", "", Retry::no},
    HresultInfo{0x0004230B, "VSS_S_ASYNC_CANCELLED", "the operation was cancelled", "", Retry::no},
    HresultInfo{
        0x80070005, "E_ACCESSDENIED", "access denied",
        "run elevated (\"Run as administrator\"); in Task Scheduler tick \"Run with highest "
        "privileges\" or run as SYSTEM",
        Retry::no},
    HresultInfo{0x80004001, "E_NOTIMPL", "VSS is not available on this system",
                "run on Windows (Wine and Windows PE have no Volume Shadow Copy Service); "
                "use --snapshot=never to read the live volume",
                Retry::no},
    HresultInfo{0x8007000E, "E_OUTOFMEMORY", "out of memory", "close other programs and retry",
                Retry::no},
    HresultInfo{0x80070057, "E_INVALIDARG", "invalid argument", "report this as a bug in vssimg",
                Retry::no},
    HresultInfo{0x80042301, "VSS_E_BAD_STATE", "VSS calls were made in the wrong order",
                "report this as a bug; a 32-bit vssimg on 64-bit Windows also gets this: use the "
                "64-bit build",
                Retry::no},
    HresultInfo{0x80042302, "VSS_E_UNEXPECTED", "unexpected VSS error",
                "see the Application event log, source VSS", Retry::no},
    HresultInfo{0x80042306, "VSS_E_PROVIDER_VETO", "the shadow copy provider refused the operation",
                "usually transient (retried); see the Application event log, source VSS",
                Retry::transient},
    HresultInfo{0x80042307, "VSS_E_PROVIDER_IN_USE", "the shadow copy provider is busy",
                "transient (retried); look for another backup program running now",
                Retry::transient},
    HresultInfo{0x80042308, "VSS_E_OBJECT_NOT_FOUND", "the volume or snapshot does not exist",
                "give a local volume (C:, a mount folder or \\\\?\\Volume{GUID}\\)", Retry::no},
    HresultInfo{
        0x8004230C, "VSS_E_VOLUME_NOT_SUPPORTED", "shadow copies are not supported for this volume",
        "VSS needs a local NTFS or ReFS volume; use --snapshot=never for others", Retry::no},
    HresultInfo{0x8004230E, "VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER",
                "no shadow copy provider supports this volume",
                "check `vssadmin list providers`; use --snapshot=never for this volume", Retry::no},
    HresultInfo{0x8004230F, "VSS_E_UNEXPECTED_PROVIDER_ERROR", "the shadow copy provider failed",
                "usually transient (retried); check `vssadmin list providers` and the event log",
                Retry::transient},
    HresultInfo{
        0x80042313, "VSS_E_FLUSH_WRITES_TIMEOUT", "the system could not flush writes in time",
        "the load is too heavy (retried); schedule the backup at a quieter time", Retry::transient},
    HresultInfo{0x80042314, "VSS_E_HOLD_WRITES_TIMEOUT", "the system could not hold writes in time",
                "the load is too heavy (retried); schedule the backup at a quieter time",
                Retry::transient},
    HresultInfo{0x80042315, "VSS_E_UNEXPECTED_WRITER_ERROR", "a writer failed unexpectedly",
                "transient (retried); see `vssimg list-writers` and the Application event log",
                Retry::transient},
    HresultInfo{
        0x80042316, "VSS_E_SNAPSHOT_SET_IN_PROGRESS", "another shadow copy is being created",
        "retried; if it persists, look for another backup program running now", Retry::transient},
    HresultInfo{
        0x80042317, "VSS_E_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED",
        "the volume has the maximum number of shadow copies",
        "delete old ones (`vssimg snapshot list` / `vssimg snapshot delete ID`, or vssadmin "
        "delete shadows)",
        Retry::no},
    HresultInfo{0x80042318, "VSS_E_WRITER_INFRASTRUCTURE",
                "the VSS writer infrastructure is not working",
                "check that the Volume Shadow Copy and COM+ Event System services run; see `vssimg "
                "list-writers`",
                Retry::no},
    HresultInfo{0x80042319, "VSS_E_WRITER_NOT_RESPONDING", "a writer did not respond",
                "transient (retried); see `vssimg list-writers` for the writer's state",
                Retry::transient},
    HresultInfo{0x8004231D, "VSS_E_VOLUME_IN_USE",
                "the volume is in use by another shadow copy "
                "operation",
                "transient (retried); look for another backup program running now",
                Retry::transient},
    HresultInfo{0x8004231F, "VSS_E_INSUFFICIENT_STORAGE",
                "not enough space for the shadow copy storage area",
                "free space or resize it with vssadmin resize shadowstorage", Retry::no},
    HresultInfo{0x80042328, "VSS_E_TRANSACTION_FREEZE_TIMEOUT",
                "the transaction manager could not freeze in time",
                "the load is too heavy (retried); schedule the backup at a quieter time",
                Retry::transient},
    HresultInfo{0x8004232C, "VSS_E_NESTED_VOLUME_LIMIT",
                "the volume is nested too deeply (a VHD inside a VHD inside a VHD)",
                "back up the outer volume instead", Retry::no},
    HresultInfo{0x800423F0, "VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT",
                "the snapshot lacks volumes the writer needs",
                "add the writer's other volumes to the same snapshot", Retry::no},
    HresultInfo{0x800423F1, "VSS_E_WRITERERROR_OUTOFRESOURCES", "the writer ran out of resources",
                "retried; schedule the backup at a quieter time", Retry::writer},
    HresultInfo{
        0x800423F2, "VSS_E_WRITERERROR_TIMEOUT", "the writer timed out between freeze and thaw",
        "retried; the load is too heavy, schedule the backup at a quieter time", Retry::writer},
    HresultInfo{0x800423F3, "VSS_E_WRITERERROR_RETRYABLE",
                "the writer failed with a transient error", "retried", Retry::writer},
    HresultInfo{0x800423F4, "VSS_E_WRITERERROR_NONRETRYABLE", "the writer failed",
                "its data is crash-consistent only; see the Application event log for that writer",
                Retry::no},
    HresultInfo{0x800423F5, "VSS_E_WRITERERROR_RECOVERY_FAILED",
                "the writer's recovery of the snapshot failed",
                "its data is crash-consistent only; see the Application event log for that writer",
                Retry::no},
};

constexpr std::array<const char*, 16> k_writer_states = {
    "Unknown",
    "Stable",
    "Waiting for freeze",
    "Waiting for thaw",
    "Waiting for post-snapshot",
    "Waiting for backup complete",
    "Failed at identify",
    "Failed at prepare backup",
    "Failed at prepare snapshot",
    "Failed at freeze",
    "Failed at thaw",
    "Failed at post-snapshot",
    "Failed at backup complete",
    "Failed at pre-restore",
    "Failed at post-restore",
    "Failed at backup shutdown",
};

}  // namespace

std::string_view to_string(BackupType type) {
  return type == BackupType::full ? "full" : "copy";
}

std::optional<BackupType> parse_backup_type(std::string_view text) {
  if (text == "copy") return BackupType::copy;
  if (text == "full") return BackupType::full;
  return std::nullopt;
}

const HresultInfo* find_hresult(uint32_t code) {
  for (const auto& info : k_hresults) {
    if (info.code == code) return &info;
  }
  return nullptr;
}

std::string hresult_name(uint32_t code) {
  if (const HresultInfo* info = find_hresult(code)) return info->name;
  return fmt::format("0x{:08X}", code);
}

std::string describe_vss_hresult(uint32_t code) {
  const HresultInfo* info = find_hresult(code);
  if (!info) return fmt::format("HRESULT 0x{:08X}", code);
  std::string text = fmt::format("{} (0x{:08X}): {}", info->name, code, info->meaning);
  if (*info->advice) text += fmt::format("; {}", info->advice);
  return text;
}

std::string writer_state_name(int state) {
  if (state >= 0 && static_cast<size_t>(state) < k_writer_states.size())
    return k_writer_states[state];
  return "Unknown state";
}

bool writer_state_failed(int state) {
  return state >= 6 && state <= 15;
}

// Syntax-only part of looks_like_volume, shared by the Windows code and the stub.
bool looks_like_volume_syntax(const std::string& s) {
  bool drive = (s.size() == 2 || (s.size() == 3 && (s[2] == '\\' || s[2] == '/'))) &&
               std::isalpha(static_cast<unsigned char>(s[0])) && s[1] == ':';
  return drive || s.rfind("\\\\?\\Volume{", 0) == 0;
}

}  // namespace vssimg::vss
