// Every test-only seam of the program, read in this one place. Production runs never set
// these variables; unset, they have no effect. Tests: tests/cli (kill, fault, retention).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace vssimg::test_seams {

// VSSIMG_FAKE_NOW=<unix seconds>: the clock that now_unix() reports.
std::optional<int64_t> fake_now();

// VSSIMG_FAULT=OP:N[+][:ACTION[:MATCH]]: the Nth (N+: the Nth and every later) write,
// fsync or rename of this process on a path containing MATCH (default: any) fails with
// ENOSPC or EIO, or the process stops there: KILL raises SIGKILL, STOP raises SIGSTOP.
struct FaultPlan {
  std::string op;  // "write", "fsync", "rename"; empty: no fault
  unsigned long n = 0;
  bool from_n = false;
  std::string action;  // "ENOSPC", "EIO", "KILL", "STOP"
  std::string match;
};
const FaultPlan& fault_plan();

// VSSIMG_FAULT_READ=NAME:OFFSET[:OFFSET...]: a read of `len` bytes at `offset` of a file
// whose last path component is NAME fails when it covers one of the offsets.
bool read_fault(const std::string& file_name, size_t len, uint64_t offset);

// VSSIMG_TEST_PRUNE_CRASH=<step>: true when prune should end the process at `step`.
bool prune_crash_at(const char* step);

// VSSIMG_TEST_PACK_SIZE=<size>: the pack target size to use instead of the default (small
// packs make kill and fault tests cross many pack commits); nullptr when unset.
const char* pack_size();

// VSSIMG_TEST_PRUNE_WINDOW=<seconds>: prune's safety window instead of the default (0 lets
// a test see prune delete on S3 at once); nullopt when unset or not a number >= 0.
std::optional<int64_t> prune_window();

// VSSIMG_TEST_PROGRESS_STEP=<seconds>: the progress display's clock advances by this much
// at every reading instead of following real time, so that every update is drawn.
std::optional<double> progress_clock_step();

// VSSIMG_TEST_DEVICE_USER=<path>=<text>: block_device_user(path) reports `text` (as if
// the device were mounted or held), for tests that cannot mount anything.
std::optional<std::string> device_user(const std::string& path);

}  // namespace vssimg::test_seams
