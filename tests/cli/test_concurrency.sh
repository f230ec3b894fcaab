#!/usr/bin/env bash
# Concurrency: a backup is stopped (SIGSTOP from the fault seam) at chosen moments while
# it holds its locks; meanwhile a second backup runs beside it and commits, verify
# --read-data and restore run beside it and succeed, and repair and prune (exclusive) are
# refused with --lock-wait 0 (exit 11, naming the holder's command, pid and host). A backup killed while holding the lock leaves nothing
# that blocks the next one (OS locks vanish; its stale .info file is removed).
source "$(dirname "$0")/../fault/lib.sh"
source "$(dirname "$0")/lib.sh" "$1"
export VSSIMG_TEST_PACK_SIZE=256K
S="--store $WORK/store"
host=$(hostname)


head -c 3M /dev/urandom > src.img
expect_exit 0 $VSSIMG $S init --block-size 64K
expect_exit 0 $VSSIMG $S backup src.img
p1=$(points store); cp src.img "img.$p1"

for spot in "write:1:STOP:.pack." "fsync:3:STOP:.pack." "rename:1:STOP:.idx." "rename:1:STOP:.point."; do
  mutate src.img ${#spot}
  head -c 1M /dev/urandom | dd of=src.img bs=64K seek=8 conv=notrunc status=none
  cp src.img during.img
  VSSIMG_FAULT="$spot" $VSSIMG $S backup during.img >bg.out 2>bg.err &
  pid=$!
  wait_stopped $pid

  expect_exit 0 $VSSIMG $S backup src.img
  p=$(grep -o 'point [0-9a-f]\{16\}' out | head -1 | cut -d' ' -f2); cp src.img "img.$p"
  expect_exit 11 $VSSIMG $S --lock-wait 0 repair index
  expect_one_line_error "backup during.img (pid $pid on $host, since "
  expect_exit 11 $VSSIMG $S --lock-wait 0 prune
  expect_one_line_error "pid $pid on $host"
  pass "$spot: a second backup runs beside it; repair and prune are refused with exit 11 naming pid $pid on $host"

  expect_exit 0 $VSSIMG $S verify --read-data
  for p in $(points store); do restores_identical store "$p" "img.$p"; done
  expect_exit 0 $VSSIMG $S list
  pass "$spot: verify --read-data, list and restore of every point run beside the backup"

  kill -CONT $pid
  set +e; wait $pid; rc=$?; set -e
  [ $rc = 0 ] || { cat bg.err; fail "$spot: the stopped backup failed after continuing (exit $rc)"; }
  p=$(grep -o 'point [0-9a-f]\{16\}' bg.out | head -1 | cut -d' ' -f2)
  cp during.img "img.$p"
  restores_identical store "$p" during.img
  pass "$spot: continued, the backup finishes and its point restores"
done

# A holder killed with SIGKILL: the OS lock is gone, its info file is stale.
mutate src.img 77
VSSIMG_FAULT="rename:1:STOP:.pack." $VSSIMG $S backup src.img >/dev/null 2>&1 &
pid=$!
wait_stopped $pid
kill -9 $pid
set +e; wait $pid; set -e
[ -e "store/locks/$host-$pid.info" ] || fail "the killed holder's info file is not there (test is wrong)"
# Also an info file of another dead process that never got to write its content.
sh -c 'exit 0' & dead=$!; wait $dead
: > "store/locks/$host-$dead.info"
expect_exit 0 $VSSIMG $S backup src.img
[ -e "store/locks/$host-$pid.info" ] && fail "stale info file of killed pid $pid not removed"
[ -e "store/locks/$host-$dead.info" ] && fail "empty info file of dead pid $dead not removed"
ls store/locks/*.info >/dev/null 2>&1 && fail "info files left after the backup: $(ls store/locks)"
p=$(grep -o 'point [0-9a-f]\{16\}' out | head -1 | cut -d' ' -f2); cp src.img "img.$p"
pass "lock of a killed backup is taken over; stale and empty info files of dead pids removed"

# A dead holder's stale info is not named when a live one refuses.
VSSIMG_FAULT="write:1:STOP:.info" $VSSIMG $S verify >/dev/null 2>&1 &
pid=$!
wait_stopped $pid
sh -c 'exit 0' & dead=$!; wait $dead
printf 'command=backup ghost\nhost=%s\npid=%s\nstarted=1\n' "$host" "$dead" > "store/locks/$host-$dead.info"
expect_exit 11 $VSSIMG $S --lock-wait 0 repair index
grep -q "ghost" err && fail "a dead holder was named"
[ -e "store/locks/$host-$dead.info" ] && fail "the dead holder's info file was not removed"
pass "repair refused while verify holds the shared lock; dead holder not named"
mutate src.img 99
expect_exit 0 $VSSIMG $S backup src.img   # a backup may run beside verify
p=$(grep -o 'point [0-9a-f]\{16\}' out | head -1 | cut -d' ' -f2); cp src.img "img.$p"
kill -CONT $pid
set +e; wait $pid; rc=$?; set -e
[ $rc = 0 ] || fail "the stopped verify failed after continuing (exit $rc)"
pass "a backup runs beside verify; verify then finishes clean"

expect_exit 0 $VSSIMG $S verify --read-data
for f in img.*; do restores_identical store "${f#img.}" "$f"; done
pass "every point verifies and restores afterwards"
echo "$TESTS_RUN passed, 0 failed"
