#!/usr/bin/env bash
# Many writers, one store (docs/format.md, "Concurrency", "Read-only stores"): four
# backups of four volumes (four host names, backup --host) run at once, some
# killed with SIGKILL at random moments; verify --read-data is clean and every committed
# point restores identical. Two backups storing the same blocks at once leave two copies
# that verify accepts and prune removes. prune waits for a running backup and a backup
# for a running prune (--lock-wait). A store this user cannot write is listed, shown,
# verified, restored, ls'd, extracted and exported from without a lock; writing commands
# there exit 14.
source "$(dirname "$0")/../fault/lib.sh"
source "$(dirname "$0")/lib.sh" "$1"
export VSSIMG_TEST_PACK_SIZE=128K
S="--store $WORK/store"
RANDOM=1616

# wait_for_line FILE PATTERN PID: until FILE has PATTERN (PID must still run meanwhile).
wait_for_line() {
  for _ in $(seq 600); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { cat "$1"; fail "process $3 exited before printing '$2'"; }
    sleep 0.1
  done
  fail "no '$2' in $1"
}
# snapshot_sources: remember each committed point's source image (img.<id>), by list --json.
snapshot_sources() {
  $VSSIMG $S --json list >list.json
  python3 - list.json <<'EOF' | while read -r id src; do [ -e "img.$id" ] || cp "$src" "img.$id"; done
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") == "point":
        print(r["id"], r["source"])
EOF
}
check_all_points() {
  expect_exit 0 $VSSIMG $S verify --read-data
  for p in $(points store); do
    [ -e "img.$p" ] || fail "point $p has no recorded source image (test is wrong)"
    restores_identical store "$p" "img.$p"
  done
}

host_flag() { echo "--host srv$1"; }   # four servers, one host name each

head -c 1M /dev/urandom >common   # blocks the four volumes share (deduplicated)
for n in 1 2 3 4; do
  { cat common; head -c 1M /dev/urandom; } >"vol$n.img"
done
expect_exit 0 $VSSIMG $S init --block-size 64K

# Round 1: four at once, all finish. Rounds 2-3: four at once, two killed (SIGKILL): one by
# the fault seam at a random pack write, index or point commit, one by kill -9 from
# outside after a random delay.
kill_specs=("write:$((1 + RANDOM % 12)):KILL:.pack." "rename:1:KILL:.idx." "rename:1:KILL:.point."
            "fsync:$((1 + RANDOM % 12)):KILL:.pack.")
for round in 1 2 3; do
  pids=() exits=()
  for n in 1 2 3 4; do
    [ $round = 1 ] || head -c 640K /dev/urandom | dd of="vol$n.img" bs=64K seek=$(((round * 7 + n) % 24)) conv=notrunc status=none
    fault=
    [ $round != 1 ] && [ $n = $((round - 1)) ] && fault=${kill_specs[$((RANDOM % 4))]}
    # shellcheck disable=SC2046
    VSSIMG_FAULT=$fault $VSSIMG $S backup $(host_flag $n) "vol$n.img" >"b$n.out" 2>"b$n.err" &
    pids+=($!)
  done
  if [ $round != 1 ]; then
    sleep "0.$(printf '%03d' $((RANDOM % 300)))"
    kill -9 "${pids[$round]}" 2>/dev/null || true
  fi
  for n in 1 2 3 4; do
    set +e; wait "${pids[$((n - 1))]}"; rc=$?; set -e
    [ $rc = 0 ] || [ $rc = 137 ] || { cat "b$n.err"; fail "round $round: backup of vol$n exit $rc"; }
    [ $rc = 0 ] || [ $round != 1 ] || fail "round 1: backup of vol$n was killed (test is wrong)"
    grep -q 'waiting' "b$n.err" && fail "round $round: a backup waited for another backup"
    exits+=($rc)
  done
  (( round == 1 )) || [ "${exits[$((round - 2))]}" = 137 ] || fail "round $round: the seam's kill did not land"
  snapshot_sources
  expect_exit 0 $VSSIMG $S verify --read-data
  pass "round $round: four backups at once, exits ${exits[*]}; verify --read-data clean"
done
check_all_points
pass "all $(points store | wc -l) committed points restore identical"
expect_exit 0 $VSSIMG $S backup vol1.img
tmp_empty store || fail "tmp/ not empty after a backup following the killed ones: $(ls store/tmp)"
snapshot_sources
pass "the next backup removes the killed writers' tmp/ folders"

# Two backups store the same new blocks at once: A stops before its index segment, B runs
# meanwhile (A's blocks are in no segment yet, so B writes its own copies), then A goes on.
head -c 2M /dev/urandom >dup.img
cp dup.img dupa.img; cp dup.img dupb.img
VSSIMG_FAULT="rename:1:STOP:.idx." $VSSIMG $S backup dupa.img >a.out 2>a.err &
a=$!
wait_stopped $a
expect_exit 0 $VSSIMG $S backup dupb.img
kill -CONT $a
set +e; wait $a; rc=$?; set -e
[ $rc = 0 ] || { cat a.err; fail "the stopped backup failed after continuing (exit $rc)"; }
snapshot_sources
expect_exit 0 $VSSIMG $S verify --read-data
before=$(du -sb store/packs | cut -f1)
expect_exit 0 $VSSIMG $S --json prune
after=$(du -sb store/packs | cut -f1)
(( before - after > 1800000 )) || fail "prune did not remove the spare copies ($before -> $after bytes in packs)"
restores_identical store "$(grep -o 'point [0-9a-f]\{16\}' a.out | head -1 | cut -d' ' -f2)" dup.img
pass "two copies of 2 MiB of blocks written at once: verify clean; prune removed $((before - after)) bytes of spares; the point restores"

# prune waits for a running backup, then runs.
mutate vol2.img 7
VSSIMG_FAULT="rename:1:STOP:.point." $VSSIMG $S backup vol2.img >a.out 2>a.err &
a=$!
wait_stopped $a
$VSSIMG $S --lock-wait 10min prune >p.out 2>p.err &
pr=$!
wait_for_line p.err "waiting up to 600 s for the store lock" $pr
[ "$(grep -c waiting p.err)" = 1 ] || { cat p.err; fail "more than one waiting line"; }
kill -CONT $a
set +e; wait $a; rc=$?; wait $pr; prc=$?; set -e
[ $rc = 0 ] || { cat a.err; fail "backup exit $rc"; }
[ $prc = 0 ] || { cat p.err; fail "the waiting prune exit $prc"; }
snapshot_sources
pass "prune said once that it waits for the backup, then ran when it finished"

# A backup waits for a running prune (stopped while writing its new index), then runs.
mutate vol3.img 9
expect_exit 0 $VSSIMG $S forget --keep-last 1   # prune has packs to delete and an index to write
VSSIMG_FAULT="rename:1:STOP:.idx." $VSSIMG $S prune >p.out 2>p.err &
pr=$!
wait_stopped $pr
expect_exit 11 $VSSIMG $S --lock-wait 1 backup vol3.img
grep -q "waiting up to 1 s" err || { cat err; fail "no waiting line before the timeout"; }
expect_one_line_error "prune (pid $pr on "
$VSSIMG $S backup vol3.img >a.out 2>a.err &
a=$!
wait_for_line a.err "waiting up to 300 s for the store lock (in use by prune" $a
kill -CONT $pr
set +e; wait $pr; prc=$?; wait $a; rc=$?; set -e
[ $prc = 0 ] || { cat p.err; fail "prune exit $prc"; }
[ $rc = 0 ] || { cat a.err; fail "the waiting backup exit $rc"; }
snapshot_sources
check_all_points
pass "a backup waits for prune (--lock-wait 1: exit 11 naming it), then runs; all points restore"

# Read-only store: owned by another user, no write bit anywhere; read by that user.
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
make_tree tree 2
make_ext4 fs.img 16 tree
expect_exit 0 $VSSIMG $S backup fs.img
p=$(grep -o 'point [0-9a-f]\{16\}' out | head -1 | cut -d' ' -f2)
snapshot_sources
cp -a store ro
chmod 755 "$WORK"
chown -R 65534:65534 ro
chmod -R a-w ro
mkdir ro_out; chown 65534:65534 ro_out
R="--store $WORK/ro"
fp=$(store_fingerprint ro; ls -A ro/locks ro/tmp)
ro_ok() {  # ro_ok CMD...: exit 0 (or 3), one note that no lock is taken
  expect_exit 0 "${nobody[@]}" $VSSIMG $R "$@"
  [ "$(grep -c 'is read-only for this user' err)" = 1 ] || { cat err; fail "no single read-only note: $*"; }
}
ro_ok list
[ "$(grep -c '^[0-9a-f]\{16\} ' out)" = "$(points ro | wc -l)" ] || { cat out; fail "list of the read-only store is incomplete"; }
ro_ok show latest
ro_ok verify --read-data
ro_ok restore "$p" "$WORK/ro_out/r.img"
cmp "$WORK/ro_out/r.img" "img.$p" || fail "restore from the read-only store differs"
ro_ok ls "$p" /
ro_ok extract "$p" / --target "$WORK/ro_out/x"
ro_ok export "$p" "$WORK/ro_out/e.vhdx"
[ "$(store_fingerprint ro; ls -A ro/locks ro/tmp)" = "$fp" ] || fail "the read-only store changed (verify.state, damage record, locks or tmp/)"
pass "read-only store: list, show, verify --read-data, restore, ls, extract, export work without a lock, one note each"
for cmd in "backup $WORK/vol1.img" "forget --keep-last 1" "prune" "repair index"; do
  # shellcheck disable=SC2086
  expect_exit 14 "${nobody[@]}" $VSSIMG $R $cmd
  expect_one_line_error "read-only for this user"
done
[ "$(store_fingerprint ro; ls -A ro/locks ro/tmp)" = "$fp" ] || fail "a refused command changed the read-only store"
pass "read-only store: backup, forget, prune and repair index refuse with exit 14 and one line"
chmod -R u+w ro
echo "$TESTS_RUN passed, 0 failed"
