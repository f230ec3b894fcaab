#!/usr/bin/env bash
# Stop requests: SIGTERM ends a backup at a safe point with exit 143 and "terminated
# (SIGTERM)" (not "interrupted by the user"), SIGINT with exit 130; nothing is
# committed, and the next backup works. Not timing-dependent: the backup is held at its
# first log line by a full FIFO (--log-file), the signal is sent once the process has
# the FIFO open (so its handlers are installed), and only then is the FIFO drained.
source "$(dirname "$0")/lib.sh" "$1"

head -c 3M /dev/urandom >src.img
expect_exit 0 $VSSIMG --store st init --block-size 64K

# stop_backup SIGNAL: a backup stopped by SIGNAL; its exit code in $rc, stderr in err.
stop_backup() {
  rm -f log.fifo && mkfifo log.fifo
  exec 3<>log.fifo  # both ends here: opening it never blocks
  # Fill the pipe, so that the backup's first log line blocks.
  python3 -c 'import fcntl, os
fcntl.fcntl(3, fcntl.F_SETFL, fcntl.fcntl(3, fcntl.F_GETFL) | os.O_NONBLOCK)
try:
    while True: os.write(3, b"x" * 4096)
except BlockingIOError:
    pass
fcntl.fcntl(3, fcntl.F_SETFL, fcntl.fcntl(3, fcntl.F_GETFL) & ~os.O_NONBLOCK)'
  set +e
  $VSSIMG --store st --log-file log.fifo backup src.img >out 2>err 3>&- &
  local pid=$! found=""
  # The log file is opened after the handlers are installed (cli/app.cpp).
  for _ in $(seq 600); do
    for fd in /proc/$pid/fd/*; do
      [ "$(readlink "$fd" 2>/dev/null)" = "$WORK/log.fifo" ] && found=1
    done
    [ -n "$found" ] && break
    sleep 0.1
  done
  [ -n "$found" ] || fail "the backup never opened its log file"
  kill -"$1" $pid
  cat <&3 >/dev/null &  # drain: the backup goes on to its next safe point
  local drain=$!
  wait $pid
  rc=$?
  set -e
  kill $drain 2>/dev/null || true
  wait $drain 2>/dev/null || true
  exec 3<&-
}

stop_backup TERM
[ "$rc" = 143 ] || { cat err; fail "SIGTERM: exit $rc, expected 143"; }
grep -q 'terminated (SIGTERM)' err || { cat err; fail "SIGTERM: no 'terminated (SIGTERM)'"; }
! grep -q 'interrupted by the user' err || { cat err; fail "SIGTERM reported as the user's"; }
pass "SIGTERM: exit 143, terminated (SIGTERM)"

stop_backup INT
[ "$rc" = 130 ] || { cat err; fail "SIGINT: exit $rc, expected 130"; }
grep -q 'interrupted by the user' err || { cat err; fail "SIGINT: no 'interrupted by the user'"; }
pass "SIGINT: exit 130, interrupted by the user"

expect_exit 0 $VSSIMG --store st --json list
[ "$(grep -c '"type":"point"' out)" = 0 ] || fail "a stopped backup committed a point"
expect_exit 0 $VSSIMG --store st backup src.img
expect_exit 0 $VSSIMG --store st verify --read-data
pass "nothing committed; the next backup and verify succeed"
