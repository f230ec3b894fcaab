// Non-Windows builds: the CLI compiles the same way everywhere, and every VSS entry
// point says plainly that VSS is Windows-only (exit 13).
#include "core/base/error.hpp"
#include "vss/vss.hpp"

namespace vssimg::vss {

bool looks_like_volume_syntax(const std::string& s);

namespace {
[[noreturn]] void unavailable(const std::string& operation) {
  throw Error(ErrorKind::vss, operation, "", "VSS is only available on Windows");
}
}  // namespace

bool looks_like_volume(const std::string& source) {
  return looks_like_volume_syntax(source);
}

std::vector<WriterInfo> list_writers(bool, ProgressSink&) {
  unavailable("listing VSS writers");
}

std::unique_ptr<SnapshotSession> create_snapshot(const std::vector<std::string>&,
                                                 const SnapshotOptions&, ProgressSink&) {
  unavailable("creating a VSS snapshot");
}

std::vector<SnapshotRecord> list_snapshots(ProgressSink&) {
  unavailable("listing VSS snapshots");
}

SnapshotRecord delete_snapshot(const std::string&, ProgressSink&) {
  unavailable("deleting a VSS snapshot");
}

// SnapshotSession cannot be constructed here (no Impl); these exist so the class links.
class SnapshotSession::Impl {};
SnapshotSession::SnapshotSession(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
SnapshotSession::~SnapshotSession() = default;
const std::string& SnapshotSession::set_id() const {
  unavailable("reading a VSS snapshot");
}
const std::vector<SnapshotVolume>& SnapshotSession::volumes() const {
  unavailable("reading a VSS snapshot");
}
const std::vector<WriterOutcome>& SnapshotSession::writers() const {
  unavailable("reading a VSS snapshot");
}
const std::vector<IncludedComponent>& SnapshotSession::components() const {
  unavailable("reading a VSS snapshot");
}
const std::string& SnapshotSession::components_document() const {
  unavailable("reading a VSS snapshot");
}
BackupType SnapshotSession::backup_type() const {
  return BackupType::copy;
}
bool SnapshotSession::persistent() const {
  return false;
}
bool SnapshotSession::crash_consistent() const {
  return false;
}
void SnapshotSession::complete(bool) {}

}  // namespace vssimg::vss
