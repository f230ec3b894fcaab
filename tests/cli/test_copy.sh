#!/usr/bin/env bash
# copy between local stores: every point (newest first) and a selected one; restores of the
# copies are byte-identical to the source store's; a second copy is a no-op (0 blocks); a
# similar point sends only its changed blocks; copies killed (SIGKILL by the fault seam and
# at random moments) leave a store that verifies, and the next copy completes it; --keep-last
# applies the destination's retention; a damaged source block skips that point (error
# naming point and offset), copies the others, exit 12.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$(dirname "$0")/../fault/lib.sh"
source "$(dirname "$0")/lib.sh" "$1"
export VSSIMG_TEST_PACK_SIZE=256K
RANDOM=1717  # reproducible kill delays

summary_field() { python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows[-1]["type"] == "summary", rows[-1]
print(rows[-1][sys.argv[2]])' "$WORK/out" "$1"; }
# dest_of SOURCE_POINT: the destination's point of a copied source point (last --json run).
dest_of() { python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["type"] == "copy_point" and r["source_point"] == sys.argv[2]:
        print(r["point"])' "$WORK/out" "$1"; }
# same_restore A_STORE A_POINT B_STORE B_POINT IMG: both restores equal IMG.
same_restore() {
  rm -f ra.img rb.img
  expect_exit 0 $VSSIMG --store "$1" restore "$2" ra.img
  expect_exit 0 $VSSIMG --store "$3" restore "$4" rb.img
  cmp ra.img "$5" || fail "restore of $2 from $1 differs from its image"
  cmp rb.img "$5" || fail "restore of copy $4 in $3 differs from the source store's restore"
}
clean() { expect_exit 0 $VSSIMG --store "$1" verify --read-data; grep -q "no damage" out || { cat out; fail "$1: verify --read-data found damage"; }; }
# json_ok COMMAND CODE: the last run's --json output matches docs/json.md.
json_ok() { python3 "$HERE/check_json.py" "$HERE/../../docs/json.md" "$1" "$2" "$WORK/out" || fail "JSON of $1 does not match docs/json.md"; }
last_point() { grep -o 'point [0-9a-f]\{16\}' out | head -1 | cut -d' ' -f2; }

for s in a b c d; do expect_exit 0 $VSSIMG --store "$WORK/$s" init --block-size 64K; done
head -c 8M /dev/urandom > v.img
expect_exit 0 $VSSIMG --store a backup v.img --host h1; p1=$(last_point); cp v.img v1.img
head -c 1M /dev/urandom | dd of=v.img bs=64K seek=20 conv=notrunc status=none
expect_exit 0 $VSSIMG --store a backup v.img --host h1; p2=$(last_point); cp v.img v2.img
head -c 2M /dev/urandom > w.img
dd if=/dev/zero of=w.img bs=64K seek=8 count=4 conv=notrunc status=none  # ZERO entries too
expect_exit 0 $VSSIMG --store a backup w.img --host h2; p3=$(last_point)
pass "source store: three points of two hosts"

# Every point, newest first.
expect_exit 0 $VSSIMG --store a --json copy --to "$WORK/b"
[ "$(summary_field points_copied)" = 3 ] || { cat out; fail "copy did not copy 3 points"; }
json_ok copy 0
order=$(python3 -c '
import json, sys
print(" ".join(r["source_point"] for r in map(json.loads, open(sys.argv[1])) if r["type"] == "copy_point"))' out)
[ "$order" = "$p3 $p2 $p1" ] || fail "copy order is '$order', not newest first ($p3 $p2 $p1)"
b1=$(dest_of $p1) b2=$(dest_of $p2) b3=$(dest_of $p3)
expect_exit 0 $VSSIMG --store b list --host h1
[ "$(grep -c '^[0-9a-f]\{16\}' out)" = 2 ] || { cat out; fail "b does not list two points of h1"; }
grep -q "$b1" out && grep -q "$b2" out || { cat out; fail "the copies of h1's points are not h1's"; }
expect_exit 0 $VSSIMG --store b show "$b2"
grep -q "copied from  point $p2 of store" out || { cat out; fail "show of the copy does not name its origin"; }
clean b
same_restore a $p1 b $b1 v1.img
same_restore a $p2 b $b2 v2.img
same_restore a $p3 b $b3 w.img
pass "copy of every point: newest first, hosts kept, verify clean, restores byte-identical"

expect_exit 0 $VSSIMG --store a --json copy --to "$WORK/b"
[ "$(summary_field points_copied)" = 0 ] || { cat out; fail "a second copy copied points again"; }
[ "$(summary_field points_already_copied)" = 3 ] || { cat out; fail "a second copy did not skip 3"; }
json_ok copy 0
[ "$(summary_field new_blocks)" = 0 ] || { cat out; fail "a second copy stored blocks"; }
expect_exit 0 $VSSIMG --store b --json copy --to "$WORK/a"
[ "$(summary_field points_copied)" = 0 ] || { cat out; fail "copying the copies back duplicated points"; }
pass "copy is idempotent: a second run (and a copy back) copies 0 points and 0 blocks"

# A selected point, then a similar one: only the changed 16 blocks travel.
expect_exit 0 $VSSIMG --store a --json copy $p1 --to "$WORK/c"
[ "$(summary_field points_copied)" = 1 ] || { cat out; fail "copy of one point copied $(summary_field points_copied)"; }
[ "$(summary_field new_blocks)" = 128 ] || { cat out; fail "the first point sent $(summary_field new_blocks) blocks, not 128"; }
expect_exit 0 $VSSIMG --store a --json copy latest --host h1 --to "$WORK/c"
[ "$(summary_field new_blocks)" = 16 ] || { cat out; fail "the similar point sent $(summary_field new_blocks) blocks, not 16"; }
c2=$(dest_of $p2)
expect_exit 2 $VSSIMG --store a copy --host nosuchhost --to "$WORK/c"
clean c
same_restore a $p2 c $c2 v2.img
pass "a selected point is copied alone; a similar point sends only its 16 new blocks"

expect_exit 0 $VSSIMG --store a --json copy --to "$WORK/d" --keep-last 1
[ "$(summary_field removed)" = 1 ] || { cat out; fail "--keep-last 1 removed $(summary_field removed), not 1"; }
json_ok copy 0
expect_exit 0 $VSSIMG --store d list
[ "$(grep -c '^[0-9a-f]\{16\}' out)" = 2 ] || { cat out; fail "d keeps not one point per host and source"; }
clean d
rm -f rd.img; expect_exit 0 $VSSIMG --store d restore latest --host h1 rd.img
cmp rd.img v2.img || fail "--keep-last 1 did not keep the newest point of h1"
pass "--keep-last applies the destination's retention per host and source"

expect_exit 2 $VSSIMG --store a copy --to "$WORK/a"
grep -q "the store copied from" err || { cat err; fail "a copy into itself is not refused"; }
expect_exit 0 $VSSIMG --store "$WORK/e" init --block-size 128K
expect_exit 2 $VSSIMG --store a copy --to "$WORK/e"
grep -q "block size" err || { cat err; fail "different block sizes not named"; }
expect_exit 10 $VSSIMG --store a copy --to "$WORK/nonexistent"
pass "into itself, into a store of another block size, into no store: refused"

# Kills: the fault seam at pack, index and point writes, and kill -9 after a random delay;
# each into a fresh store, verified after the kill, then completed by the next copy.
cp -a a big
for i in 1 2 3 4; do
  head -c 6M /dev/urandom > k.img
  expect_exit 0 $VSSIMG --store big backup k.img --host k$i; cp k.img "k$i.img"
done
kills=0 trial=0
for spec in write:2:KILL:.pack. rename:5:KILL:.pack. write:1:KILL:.idx. rename:1:KILL:.point. \
    rename:3:KILL:.point. timed timed timed timed; do
  trial=$((trial + 1)); g="$WORK/g$trial"
  expect_exit 0 $VSSIMG --store "$g" init --block-size 64K
  set +e
  if [ $spec = timed ]; then
    $VSSIMG --store big copy --to "$g" >out 2>err &
    pid=$!
    sleep "0.$(printf '%03d' $((RANDOM % 500)))"
    kill -9 $pid 2>/dev/null
    wait $pid; rc=$?
  else
    VSSIMG_FAULT=$spec $VSSIMG --store big copy --to "$g" >out 2>err; rc=$?
  fi
  set -e
  [ $rc = 137 ] && kills=$((kills + 1))
  [ $rc = 137 ] || [ $rc = 0 ] || { cat err; fail "copy ($spec) exited $rc"; }
  clean "$g"
  expect_exit 0 $VSSIMG --store big copy --to "$g"
  expect_exit 0 $VSSIMG --store "$g" list
  [ "$(grep -c '^[0-9a-f]\{16\}' out)" = 7 ] || { cat out; fail "after the kill ($spec) $g does not hold the 7 points once"; }
  clean "$g"
  [ $trial = 1 ] || rm -rf "$g"
done
(( kills >= 5 )) || fail "only $kills of the copies were killed"
for i in 1 2 3 4; do
  expect_exit 0 $VSSIMG --store "$WORK/g1" restore latest --host k$i rk.img
  cmp rk.img "k$i.img" || fail "copy of k$i's point after a kill differs"
  rm -f rk.img
done
pass "copies killed $kills times (seam and random kill -9): verify clean after each, the next copy completes"

# A damaged block of the source: that point is skipped with an error naming point and
# offset; the others are copied; exit 12.
cp -a a e2
flip "$(ls -t e2/packs/*/*.pack | head -1)" 5000   # w.img's data, written last
expect_exit 0 $VSSIMG --store "$WORK/f" init --block-size 64K
expect_exit 12 $VSSIMG --store e2 --json copy --to "$WORK/f"
grep -q "copying point $p3 at offset [0-9]*: .*checksum mismatch" err || { cat err; fail "the damage is not named with point and offset"; }
[ "$(summary_field points_copied)" = 2 ] || { cat out; fail "the undamaged points were not copied"; }
[ "$(summary_field points_failed)" = 1 ] || { cat out; fail "points_failed is not 1"; }
json_ok copy 12
clean f
pass "a damaged source block: point skipped with point and offset named, others copied, exit 12"
