#!/usr/bin/env bash
# The Windows event log outside Windows (docs/windows.md): --event-log and
# `eventlog install|uninstall` are usage errors (exit 2) saying the event log is
# Windows-only; the command itself does not run. Windows behaviour: scripts/test-windows.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh" "$1"

expect_exit 2 $VSSIMG --store "$WORK/store" --event-log init
expect_one_line_error "the event log is Windows-only"
[ ! -e "$WORK/store" ] || fail "init ran despite --event-log on Linux"
pass "--event-log init: exit 2, one line, no store created"

expect_exit 2 $VSSIMG --store "$WORK/store" --json --event-log list
tail -1 "$WORK/out" | grep -q '"type":"summary".*"command":"list".*"exit_code":2.*"exit_error":"--event-log: the event log is Windows-only"' \
  || { cat "$WORK/out"; fail "--json summary of --event-log"; }
pass "--json --event-log list: summary with exit_code 2 and exit_error"

expect_exit 2 $VSSIMG eventlog install
expect_one_line_error "installing the event source: the event log is Windows-only"
pass "eventlog install: exit 2, Windows-only"

expect_exit 2 $VSSIMG eventlog uninstall
expect_one_line_error "uninstalling the event source: the event log is Windows-only"
pass "eventlog uninstall: exit 2, Windows-only"

expect_exit 2 $VSSIMG eventlog
grep -q "subcommand is required" "$WORK/err" || { cat "$WORK/err"; fail "eventlog without install/uninstall"; }
pass "eventlog without install|uninstall: usage error"

echo "$TESTS_RUN passed, 0 failed"
