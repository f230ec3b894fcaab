#!/usr/bin/env bash
# prune gives the space of forgotten points back: five points of a changing image, three
# forgotten; prune leaves at most 5% of the bytes in packs unused (from the JSON fields,
# checked against du of packs/), every remaining point restores byte-identical and
# verify --read-data is clean; --max-repack-size bounds the bytes copied; --max-unused
# unlimited repacks nothing partially dead; a dry run changes nothing and estimates what
# the prune does; forget --prune has the same defaults; bad values exit 2.
source "$(dirname "$0")/lib.sh" "$1"
export TZ=UTC
export VSSIMG_TEST_PACK_SIZE=4M # the first point in four packs, one MiB rewritten in each
S="--store $WORK/store"
MiB=$((1024 * 1024))

summary_field() { python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows[-1]["type"] == "summary", rows[-1]
print(rows[-1][sys.argv[2]])' "$WORK/out" "$1"; }
# Bytes of the pack files, by du (apparent sizes, files only).
packs_du() { du -cb --apparent-size $(find "$1/packs" -type f -name '*.pack') | tail -1 | cut -f1; }
# check_unused_fields STORE: the summary's unused fields agree with each other and du.
check_unused_fields() {
  local after unused pct
  after=$(summary_field pack_bytes_after)
  unused=$(summary_field unused_after)
  pct=$(summary_field unused_after_percent)
  [ "$after" = "$(packs_du "$1")" ] || fail "pack_bytes_after $after, du of packs/ $(packs_du "$1")"
  python3 -c "import sys; sys.exit(abs($unused * 100 / $after - $pct) > 0.01)" ||
    fail "unused_after_percent $pct is not unused_after $unused of $after"
}

expect_exit 0 $VSSIMG $S init --block-size 64K
# a.img: 16 MiB of random data; points 2-5 each rewrite 512 KiB at MiB 1, 5, 9 and 13.
head -c 16M /dev/urandom >a.img
for n in 1 2 3 4 5; do
  if [ "$n" -gt 1 ]; then
    for at in 2 10 18 26; do
      dd if=/dev/urandom of=a.img bs=512K seek=$at count=1 conv=notrunc status=none
    done
  fi
  VSSIMG_FAKE_NOW=$(date -u -d "2024-01-0$n 01:00" +%s) expect_exit 0 $VSSIMG $S --json backup a.img
  point[$n]=$(summary_field point)
  cp a.img "a-$n.img"
done
cp -a store store-five # before the forget, for forget --prune
expect_exit 0 $VSSIMG $S forget --keep-last 2
cp -a store store-forgotten
pass "five points of a changing image, three forgotten"

# Dry run: nothing changes; the text and JSON give the plan's unused space.
before=$(store_fingerprint store)
expect_exit 0 $VSSIMG $S prune --dry-run
grep -q "unused .* before, about .* after" out || { cat out; fail "dry run text has no unused line"; }
expect_exit 0 $VSSIMG $S --json prune --dry-run
[ "$(store_fingerprint store)" = "$before" ] || fail "prune --dry-run changed the store"
planned_unused=$(summary_field unused_after)
planned_repacked=$(summary_field packs_repacked)
[ "$planned_repacked" -ge 1 ] || fail "dry run plans no repack"
pass "a dry run changes nothing and plans $planned_repacked repacks"

du_before=$(packs_du store)
expect_exit 0 $VSSIMG $S prune
grep -q "unused .* before, .* after" out || { cat out; fail "prune text has no unused line"; }
rm -rf store && cp -a store-forgotten store
expect_exit 0 $VSSIMG $S --json prune
[ "$(summary_field pack_bytes_before)" = "$du_before" ] || fail "pack_bytes_before is not du of packs/"
unused_before=$(summary_field unused_before)
[ $((unused_before * 100)) -ge $((20 * du_before)) ] ||
  fail "only $unused_before of $du_before bytes unused before: not the scenario of forgotten points"
check_unused_fields store
unused_after=$(summary_field unused_after)
du_after=$(packs_du store)
[ $((unused_after * 100)) -le $((5 * du_after)) ] || fail "$unused_after of $du_after bytes in packs unused after prune"
[ "$unused_after" = "$planned_unused" ] || fail "dry run estimated $planned_unused unused bytes, prune left $unused_after"
[ "$(summary_field packs_repacked)" = "$planned_repacked" ] || fail "dry run planned another number of repacks"
pass "prune left $unused_after of $du_after bytes unused ($unused_before of $du_before before), as the dry run said"

check_points() { # points 4 and 5 verify with --read-data and restore byte-identical
  expect_exit 0 $VSSIMG $S verify --read-data
  grep -q "no damage" out || fail "$1: verify --read-data found damage"
  for n in 4 5; do
    rm -f r.img
    expect_exit 0 $VSSIMG $S restore "${point[$n]}" r.img
    cmp -s r.img "a-$n.img" || fail "$1: restore of point $n differs"
  done
}
check_points "after prune"
expect_exit 0 $VSSIMG $S --json prune
[ "$(summary_field packs_repacked)" = 0 ] && [ "$(summary_field packs_deleted)" = 0 ] ||
  fail "a second prune still found work"
pass "the remaining points verify with --read-data and restore byte-identical; a second prune does nothing"

# --max-repack-size: each first-point pack has about 3.5 MiB live; 4M allows one.
rm -rf store && cp -a store-forgotten store
expect_exit 0 $VSSIMG $S --json prune --max-repack-size 4M
copied=$(summary_field bytes_repacked)
[ "$copied" -gt 0 ] && [ "$copied" -le $((4 * MiB)) ] || fail "--max-repack-size 4M copied $copied bytes"
[ "$(summary_field packs_repacked)" = 1 ] || fail "--max-repack-size 4M repacked $(summary_field packs_repacked) packs"
check_unused_fields store
check_points "after --max-repack-size"
pass "--max-repack-size 4M copied $copied bytes"

# --max-unused unlimited: the wholly dead packs go, the partially dead ones stay.
rm -rf store && cp -a store-forgotten store
expect_exit 0 $VSSIMG $S --json prune --max-unused unlimited
[ "$(summary_field packs_repacked)" = 0 ] && [ "$(summary_field bytes_repacked)" = 0 ] ||
  fail "--max-unused unlimited repacked"
[ "$(summary_field packs_deleted)" = 2 ] || fail "--max-unused unlimited did not delete the packs of points 2 and 3"
[ "$(summary_field unused_after)" -gt 0 ] || fail "no unused space left without repacking"
check_unused_fields store
check_points "after --max-unused unlimited"
pass "--max-unused unlimited deletes the wholly dead packs and repacks nothing"

# A size as --max-unused; the old per-pack threshold is still accepted.
rm -rf store && cp -a store-forgotten store
expect_exit 0 $VSSIMG $S --json prune --dry-run --max-unused 1M
[ "$(summary_field unused_after)" -le $MiB ] || fail "--max-unused 1M leaves $(summary_field unused_after) bytes"
expect_exit 0 $VSSIMG $S --json prune --dry-run --max-unused unlimited --repack-threshold 10%
[ "$(summary_field packs_repacked)" = 4 ] || fail "--repack-threshold 10% did not force the four 12%-dead packs"
pass "--max-unused 1M and --repack-threshold 10% plan as documented"

# forget --prune: the same defaults and flags.
rm -rf store && cp -a store-five store
expect_exit 0 $VSSIMG $S --json forget --keep-last 2 --prune
[ "$(summary_field removed)" = 3 ] || fail "forget --prune removed $(summary_field removed) points"
check_unused_fields store
[ $(($(summary_field unused_after) * 100)) -le $((5 * $(packs_du store))) ] || fail "forget --prune left more than 5% unused"
check_points "after forget --prune"
rm -rf store && cp -a store-five store
expect_exit 0 $VSSIMG $S --json forget --keep-last 2 --prune --max-unused unlimited
[ "$(summary_field packs_repacked)" = 0 ] || fail "forget --prune --max-unused unlimited repacked"
pass "forget --prune leaves at most 5% unused by default and takes --max-unused"

for bad in "--max-unused 5x" "--max-unused 101%" "--max-unused -1%" "--max-repack-size lots" "--repack-threshold 150%"; do
  expect_exit 2 $VSSIMG $S prune $bad
  expect_one_line_error "${bad%% *}"
done
pass "bad --max-unused, --max-repack-size, --repack-threshold: exit 2 naming the flag"
echo "$TESTS_RUN passed, 0 failed"
