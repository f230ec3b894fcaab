// The record of snapshots vssimg made (%ProgramData%\vssimg\snapshots.tsv on Windows):
// its byte format, platform-neutral so that it is fuzzed on every system.
//
//   VSSIMG-SNAPSHOT-RECORDS 2 <XXH3-64 of the body, 16 lower-case hex digits>\n
//   <body: one line per snapshot, 7 tab-separated fields, "\n" ended:
//    snapshot id, set id, pid, created (Unix seconds), persistent (0|1), volume, device>
//
// The file is untrusted input: anything else (another magic, another version, a
// checksum mismatch, a line without 7 fields, a number that does not parse) is
// rejected as a whole. It is never partly trusted, because the records decide which
// shadow copies vssimg deletes.
#pragma once

#include "vss/vss.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace vssimg::vss {

constexpr std::string_view k_records_magic = "VSSIMG-SNAPSHOT-RECORDS";
constexpr int k_records_version = 2;

std::string encode_records(const std::vector<SnapshotRecord>& records);
// Throws Error(ErrorKind::damage, "reading snapshot records", name, why).
std::vector<SnapshotRecord> decode_records(std::string_view bytes, const std::string& name);

}  // namespace vssimg::vss
