#!/usr/bin/env bash
# forget keeps exactly what restic's policy keeps (controlled clock: VSSIMG_FAKE_NOW);
# prune frees the forgotten points' unique data; every remaining point verifies with
# --read-data and restores byte-identical; prune killed at each step leaves a store
# that verifies and restores, and the next prune finishes the job; backup --keep-*;
# verify --subset covers every pack once.
source "$(dirname "$0")/lib.sh" "$1"
export TZ=UTC
S="--store $WORK/store"
MiB=$((1024 * 1024))
# Bytes in packs and index segments (what prune manages; no directories, locks, state).
data_bytes() { find store/packs store/index -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

ids_of() { python3 -c '
import json, sys
want = sys.argv[1]
for line in open(sys.argv[2]):
    r = json.loads(line)
    if r["type"] == "point" and str(r["keep"]).lower() == want:
        print(r["id"])' "$1" "$2" | sort; }
summary_field() { python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows[-1]["type"] == "summary", rows[-1]
print(rows[-1][sys.argv[2]])' "$WORK/out" "$1"; }

expect_exit 0 $VSSIMG $S init --block-size 64K
# Source a.img: 16 MiB of random data; night k (2024-01-0k 01:00 UTC) rewrites MiB k.
head -c 16M /dev/urandom > a.img
declare -A point_of
for day in 1 2 3 4 5 6 7 8 9 10; do
  if [ "$day" -gt 1 ]; then
    dd if=/dev/urandom of=a.img bs=1M seek=$day count=1 conv=notrunc status=none
  fi
  stamp=$(date -u -d "2024-01-$(printf %02d $day) 01:00" +%s)
  VSSIMG_FAKE_NOW=$stamp expect_exit 0 $VSSIMG $S --json backup a.img
  point_of[$day]=$(summary_field point)
  cp a.img "a-day$day.img"
done
# Source b.img: three points on 2024-01-08, 09, 10.
head -c 2M /dev/urandom > b.img
for day in 08 09 10; do
  dd if=/dev/urandom of=b.img bs=64K count=1 conv=notrunc status=none
  VSSIMG_FAKE_NOW=$(date -u -d "2024-01-$day 02:00" +%s) expect_exit 0 $VSSIMG $S backup b.img
done
pass "13 points of two sources with controlled timestamps"

# --dry-run: what would go and which rule keeps each point; nothing changes.
before=$(store_fingerprint store)
NOW=$(date -u -d "2024-01-10 12:00" +%s)
VSSIMG_FAKE_NOW=$NOW expect_exit 0 $VSSIMG $S forget --keep-daily 3 --keep-weekly 2 --source a.img --dry-run
[ "$(store_fingerprint store)" = "$before" ] || fail "forget --dry-run changed the store"
grep -q "would remove" out || fail "dry run does not say 'would remove'"
grep -q "${point_of[10]}.*daily, weekly" out || { cat out; fail "point of day 10 not shown as kept by daily, weekly"; }
grep -q "${point_of[7]}.*weekly" out || { cat out; fail "point of day 7 (Sunday) not kept by weekly"; }
pass "forget --dry-run shows the rule keeping each point and changes nothing"

# restic's policy: daily 3 = Jan 10, 9, 8; weekly 2 = ISO week 2 (Jan 10) and week 1's
# newest, Sunday Jan 7. Everything else of a.img goes; b.img is not touched.
VSSIMG_FAKE_NOW=$NOW expect_exit 0 $VSSIMG $S --json forget --keep-daily 3 --keep-weekly 2 --source a.img
ids_of true out > kept.txt
ids_of false out > removed.txt
printf '%s\n' "${point_of[7]}" "${point_of[8]}" "${point_of[9]}" "${point_of[10]}" | sort > want-kept.txt
printf '%s\n' "${point_of[1]}" "${point_of[2]}" "${point_of[3]}" "${point_of[4]}" "${point_of[5]}" "${point_of[6]}" \
  | sort > want-removed.txt
diff want-kept.txt kept.txt || fail "kept points differ from restic's policy"
diff want-removed.txt removed.txt || fail "removed points differ from restic's policy"
[ "$(summary_field removed)" = 6 ] && [ "$(summary_field kept)" = 4 ] || fail "summary kept/removed wrong"
expect_exit 0 $VSSIMG $S list
[ "$(grep -c '/a\.img ' out)" = 4 ] || { cat out; fail "list does not show 4 points of a.img"; }
[ "$(grep -c '/b\.img ' out)" = 3 ] || { cat out; fail "forget --source a.img touched b.img"; }
pass "forget keeps exactly days 7-10 of a.img (daily 3, weekly 2) and leaves b.img alone"

# Unique data of the forgotten points: the original MiBs 2-7 of a.img (MiB 7 was last
# seen on night 6; MiB 1 is never rewritten). The first pack (16 MiB, 6 dead) is only
# partially dead: --max-unused unlimited keeps it; the default (at most 5% of the bytes in
# packs unused) rewrites it.
size0=$(store_bytes store)
cp -a store store-before-prune  # one index segment per backup: the kill tests start here
expect_exit 0 $VSSIMG $S --json prune --max-unused unlimited
[ "$(summary_field packs_repacked)" = 0 ] || fail "--max-unused unlimited repacked a pack that is 38% dead"
expect_exit 0 $VSSIMG $S --json prune --dry-run
[ "$(summary_field packs_repacked)" -ge 1 ] || fail "dry run plans no repack with the default --max-unused"
expect_exit 0 $VSSIMG $S --json prune
freed_reported=$(summary_field bytes_freed)
size1=$(store_bytes store)
data1=$(data_bytes)
shrink=$((size0 - size1))
[ "$shrink" -ge $((6 * MiB)) ] || fail "store shrank by $shrink bytes, less than the 6 MiB only forgotten points held"
[ "$shrink" -le $((6 * MiB + 128 * 1024)) ] || fail "store shrank by $shrink bytes, more than the forgotten points' 6 MiB"
[ -z "$(ls store/tmp)" ] || fail "prune left files in tmp/"
pass "prune freed $shrink bytes for the forgotten points' 6 MiB of unique data (reported: $freed_reported)"

check_points() {  # every remaining point verifies and restores byte-identical
  expect_exit 0 $VSSIMG $S verify --read-data
  grep -q "no damage" out || fail "$1: verify --read-data found damage"
  for day in 7 8 9 10; do
    rm -f r.img
    expect_exit 0 $VSSIMG $S restore "${point_of[$day]}" r.img
    cmp -s r.img "a-day$day.img" || fail "$1: restore of day $day differs"
  done
}
check_points "after prune"
pass "every remaining point verifies with --read-data and restores byte-identical"

# Killed at every step (test-only seam; _exit as abruptly as a power cut).
for step in packs segment index old-segments pack-deleted; do
  rm -rf store && cp -a store-before-prune store
  [ "$(ls store/index | wc -l)" -ge 10 ] || fail "kill test needs several old index segments"
  VSSIMG_TEST_PRUNE_CRASH=$step expect_exit 137 $VSSIMG $S prune
  check_points "killed at $step"
  expect_exit 0 $VSSIMG $S prune
  check_points "prune after kill at $step"
  data=$(data_bytes)
  [ "$data" = "$data1" ] || fail "after kill at $step, the next prune leaves $data bytes of packs and index (clean run: $data1)"
done
pass "prune killed after new packs, per segment, after the index, mid old-segments, mid pack deletion: store stays valid; the next prune completes"

# backup --keep-*: the policy is applied to this source right after the backup.
VSSIMG_FAKE_NOW=$(date -u -d "2024-01-11 02:00" +%s) expect_exit 0 $VSSIMG $S --json backup b.img --keep-last 2
[ "$(summary_field removed)" = 2 ] && [ "$(summary_field kept)" = 2 ] || { cat out; fail "backup --keep-last 2 did not remove 2 of b.img's 4 points"; }
expect_exit 0 $VSSIMG $S list --source a.img
[ "$(grep -c '/a\.img ' out)" = 4 ] || fail "backup b.img --keep-last touched a.img"
pass "backup --keep-last 2 applies the policy to its own source only"

# forget without a policy is a usage error; a bad duration names the flag.
expect_exit 2 $VSSIMG $S forget
expect_one_line_error "keep"
expect_exit 2 $VSSIMG $S forget --keep-within 3w
expect_one_line_error "keep-within"
expect_exit 2 $VSSIMG $S prune --repack-threshold 150%
expect_one_line_error "repack-threshold"
pass "no policy, bad duration, bad threshold: exit 2 naming the flag"

# verify --subset N/T: the slices together read every pack exactly once.
expect_exit 0 $VSSIMG $S --json verify --read-data
total=$(summary_field packs)
sum=0
for n in 1 2 3; do
  expect_exit 0 $VSSIMG $S --json verify --subset $n/3 --max-duration 1h
  [ "$(summary_field packs_read)" = "$(summary_field packs_selected)" ] || fail "subset $n/3 not fully read within 1h"
  [ "$(summary_field time_limit_reached)" = False ] || fail "time limit reported reached"
  sum=$((sum + $(summary_field packs_read)))
done
[ "$sum" = "$total" ] || fail "subsets 1-3/3 read $sum packs, the store has $total"
head -1 store/verify.state | grep -q "vssimg-verify-state 1" || fail "verify.state not written"
expect_exit 2 $VSSIMG $S verify --subset 4/3
expect_exit 2 $VSSIMG $S verify --max-duration soon
pass "verify --subset 1/3..3/3 read $sum of $total packs once each; bad values exit 2"

# Locks: forget and prune are refused while another process holds the store.
hold_lock store/locks/store.lock
expect_exit 11 $VSSIMG $S --lock-wait 0 prune
expect_exit 11 $VSSIMG $S --lock-wait 0 forget --keep-last 1
release_lock
pass "prune and forget take the store lock exclusively (exit 11 while it is held)"
echo "$TESTS_RUN passed, 0 failed"
