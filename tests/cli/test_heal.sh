#!/usr/bin/env bash
# Damage heals: a flipped record, a truncated pack, a deleted pack, a damaged index
# segment are named by verify (exit 12, points and offsets), the next backup of the same
# source stores the damaged blocks again, verify is clean, the oldest point restores
# byte-identical and prune drops the damaged copies. A block damaged in two packs; a
# damaged block no source has any more (stays reported); restore --ignore-damage; a kill
# at every commit step of a healing backup.
source "$(dirname "$0")/../fault/lib.sh"
source "$(dirname "$0")/lib.sh" "$1"
export VSSIMG_TEST_PACK_SIZE=256K

head -c 3M /dev/urandom > a.img
S="--store $WORK/store"


fresh_store() {
  rm -rf store
  expect_exit 0 $VSSIMG $S init --block-size 64K
  expect_exit 0 $VSSIMG $S backup a.img
  p1=$(point_of out)
}

# heals NAME: verify says 12 and names point p1 with an offset, the next backup heals and
# reports p1 whole again, verify --read-data is clean, p1 restores byte-identical, prune
# forgets the damage and the store stays clean.
heals() {
  grep -q "point $p1 at volume offset" out || { cat out; fail "$1: damage not attributed to $p1"; }
  [ "$(damage_objects)" -ge 1 ] || fail "$1: verify recorded no damage"
  expect_exit 0 $VSSIMG $S --json backup a.img
  healed=$(json_field out healed_blocks)
  [ "$healed" -gt 0 ] || { cat out; fail "$1: backup healed nothing"; }
  json_field out points_whole_again | grep -q "$p1" || { cat out; fail "$1: $p1 not whole again"; }
  expect_exit 0 $VSSIMG $S verify --read-data
  rm -f r.img
  expect_exit 0 $VSSIMG $S restore "$p1" r.img
  cmp -s a.img r.img || fail "$1: the oldest point does not restore byte-identical"
  expect_exit 0 $VSSIMG $S prune
  expect_exit 0 $VSSIMG $S verify --read-data
  [ "$(damage_objects)" = 0 ] || fail "$1: prune kept damage entries that no longer apply"
  rm -f r.img
  expect_exit 0 $VSSIMG $S restore "$p1" r.img
  cmp -s a.img r.img || fail "$1: the oldest point does not restore after prune"
  pass "$1: verify exit 12 names point and offset; backup heals $healed blocks; clean after"
}

# 1. Flipped bytes in a pack record: found by --read-data.
fresh_store
pack=$(ls store/packs/*/*.pack | head -1)
flip "$pack" 5000
expect_exit 0 $VSSIMG $S verify
expect_exit 12 $VSSIMG $S verify --read-data
heals "flipped record"

# 2. A truncated pack: found by the structure check.
fresh_store
pack=$(ls store/packs/*/*.pack | head -1)
truncate -s -1000 "$pack"
expect_exit 12 $VSSIMG $S verify
heals "truncated pack"

# 3. A deleted pack.
fresh_store
rm "$(ls store/packs/*/*.pack | head -1)"
expect_exit 12 $VSSIMG $S verify
heals "deleted pack"

# 4. A damaged index segment: its blocks are lost to the index; backup stores them again.
fresh_store
flip "$(ls store/index/*.idx | head -1)" 60
expect_exit 12 $VSSIMG $S verify
grep -q "point $p1 at volume offset" out || { cat out; fail "segment: damage not attributed"; }
grep -q "index segment" out || fail "segment: the damaged segment is not named"
expect_exit 3 $VSSIMG $S backup a.img   # warns that the parent's blocks are not indexed
expect_exit 0 $VSSIMG $S verify --read-data
rm -f r.img
expect_exit 3 $VSSIMG $S restore "$p1" r.img   # warns of the damaged segment
cmp -s a.img r.img || fail "segment: the oldest point does not restore"
expect_exit 0 $VSSIMG $S repair index
expect_exit 0 $VSSIMG $S verify --read-data
rm -f r.img
expect_exit 0 $VSSIMG $S restore "$p1" r.img
pass "damaged segment: verify exit 12; backup stores the lost blocks; verify clean"

# 5. A block damaged in two packs: healed once, then the new copy rots too.
fresh_store
flip "$(ls store/packs/*/*.pack | head -1)" 5000
expect_exit 12 $VSSIMG $S verify --read-data
expect_exit 0 $VSSIMG $S backup a.img
newest=$(ls -t store/packs/*/*.pack | head -1)
flip "$newest" 100
expect_exit 12 $VSSIMG $S verify --read-data
grep -q "point $p1 at volume offset" out || { cat out; fail "two packs: damage not attributed"; }
expect_exit 12 $VSSIMG $S restore "$p1" r2.img
grep -q "other cop" err || { cat err; fail "two packs: restore does not say both copies failed"; }
[ -e r2.img ] && fail "two packs: restore left a file"
expect_exit 12 $VSSIMG $S verify
heals "block damaged in two packs"

# 6. A damaged block that no source has any more stays reported; nothing crashes.
fresh_store
head -c 1M /dev/urandom > gone.img
expect_exit 0 $VSSIMG $S backup gone.img
pg=$(point_of out)
gone_pack=$(ls -t store/packs/*/*.pack | head -1)
flip "$gone_pack" 200
cp gone.img gone.orig
rm gone.img
expect_exit 12 $VSSIMG $S verify --read-data
off=$(grep -o "point $pg at volume offset [0-9]*" out | awk '{print $NF}')
[ -n "$off" ] || { cat out; fail "gone: no offset of $pg named"; }
expect_exit 0 $VSSIMG $S backup a.img
expect_exit 12 $VSSIMG $S verify
grep -q "point $pg at volume offset $off " out || { cat out; fail "gone: structure verify forgot it"; }
expect_exit 0 $VSSIMG $S prune
expect_exit 12 $VSSIMG $S verify --read-data
grep -q "point $pg at volume offset $off " out || { cat out; fail "gone: forgotten after prune"; }
grep -q "point $p1" out && fail "gone: an intact point is reported"
pass "a damaged block no source has: stays reported through backup and prune"

# 7. restore --ignore-damage: zeros at the damaged offset, every offset listed, exit 3.
expect_exit 12 $VSSIMG $S restore "$pg" rg.img
[ -e rg.img ] && fail "restore without --ignore-damage left a file"
expect_exit 3 $VSSIMG $S --json restore "$pg" rg.img --ignore-damage
json_field out damaged_offsets | grep -q "^\[$off\]$" || { cat out; fail "damaged offsets not listed"; }
grep -q "volume offset $off" out || { cat out; fail "no warning names offset $off"; }
cmp -s -n 65536 -i "$off" rg.img /dev/zero || fail "the damaged block is not zeros"
cmp -s -n "$off" rg.img gone.orig || fail "the blocks before the damaged one differ"
[ "$(stat -c %s rg.img)" = 1048576 ] || fail "the restored image has the wrong size"
pass "restore --ignore-damage: the damaged block is zeros, its offset listed, exit 3"

# 8. A kill at every commit step of a healing backup leaves the store as damaged as
# before (not worse); the next backup heals.
specs=("write:1:KILL:.pack." "fsync:1:KILL:.pack." "rename:1:KILL:.pack." "fsync:1:KILL:/packs/"
       "write:1:KILL:.idx." "fsync:1:KILL:.idx." "rename:1:KILL:.idx." "fsync:1:KILL:/index"
       "write:1:KILL:.point." "fsync:1:KILL:.point." "rename:1:KILL:.point." "fsync:1:KILL:/points")
fresh_store
flip "$(ls store/packs/*/*.pack | head -1)" 5000
expect_exit 12 $VSSIMG $S verify --read-data
before_reports=$(sed -n 's/^DAMAGE: \([0-9]*\) .*/\1/p' out)
cp -a store damaged
kills=0 healed_early=0
for spec in "${specs[@]}"; do
  rm -rf store && cp -a damaged store
  set +e
  VSSIMG_FAULT="$spec" $VSSIMG $S backup a.img >out 2>err
  rc=$?
  set -e
  [ $rc = 137 ] || { cat err; fail "kill at $spec: backup exit $rc, not killed"; }
  kills=$((kills + 1))
  # Not worse: the same damage, or none once the run committed its index segment (the
  # intact copy is then indexed, whether or not its point was written).
  set +e
  $VSSIMG $S verify --read-data >out 2>err
  rc=$?
  set -e
  if [ $rc = 12 ]; then
    grep -q "^DAMAGE: $before_reports " out || { cat out; fail "kill at $spec: damage changed"; }
  elif [ $rc = 0 ]; then
    healed_early=$((healed_early + 1))
  else
    cat out err; fail "kill at $spec: verify exit $rc"
  fi
  expect_exit 0 $VSSIMG $S backup a.img
  expect_exit 0 $VSSIMG $S verify --read-data
  restores_identical "$WORK/store" "$p1" a.img
done
[ "$healed_early" -lt "$kills" ] || fail "no kill left the damage in place: the schedule misses the early steps"
pass "a kill at each of $kills commit steps of a healing backup: not worse ($healed_early already healed), healed next run"
# 9. heal --from: only the damaged offsets are read; a source that changed there heals nothing.
fresh_store
flip "$(ls store/packs/*/*.pack | head -1)" 5000
expect_exit 12 $VSSIMG $S verify --read-data
off=$(grep -o "point $p1 at volume offset [0-9]*" out | awk '{print $NF}')
cp a.img changed.img
head -c 65536 /dev/urandom | dd of=changed.img bs=64K seek=$((off / 65536)) conv=notrunc status=none
expect_exit 3 $VSSIMG $S heal --from changed.img "$p1"
grep -q "volume offset $off: .*changed.img no longer holds the block" err || { cat err; fail "heal: offset not named"; }
expect_exit 12 $VSSIMG $S verify --read-data
expect_exit 0 $VSSIMG $S --json heal --from a.img "$p1"
[ "$(json_field out healed_blocks)" = 1 ] || { cat out; fail "heal: not 1 block healed"; }
json_field out points_whole_again | grep -q "$p1" || { cat out; fail "heal: $p1 not whole again"; }
expect_exit 0 $VSSIMG $S verify --read-data
restores_identical "$WORK/store" "$p1" a.img
pass "heal --from: heals from the source that still has the block, names the offsets of one that does not"
# 10. In a shared store, heal's `latest` is this host's point of the source, not the
# newest point of that source name from another server.
expect_exit 0 $VSSIMG $S --json backup a.img --host srv2
p_other=$(json_field out point | tr -d '"')
expect_exit 0 $VSSIMG $S --json heal --from a.img
[ "$(json_field out point | tr -d '"')" = "$p1" ] || { cat out; fail "heal: latest is not this host's point"; }
expect_exit 0 $VSSIMG $S --json heal --from a.img --host SRV2
[ "$(json_field out point | tr -d '"')" = "$p_other" ] || { cat out; fail "heal --host: not srv2's point"; }
pass "heal: latest is of this host (--host chooses another)"
echo "$TESTS_RUN passed, 0 failed"
