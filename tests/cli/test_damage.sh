#!/usr/bin/env bash
# Damage is found and named: a flipped byte in a pack, a truncated index segment, a
# garbled point file. verify exits 12; restore of an affected point fails loudly.
source "$(dirname "$0")/lib.sh" "$1"

head -c 6M /dev/urandom > a.img
cp a.img b.img
head -c 1M /dev/urandom | dd of=b.img bs=1M seek=2 conv=notrunc status=none
S="--store $WORK/store"
expect_exit 0 $VSSIMG $S init --block-size 64K
expect_exit 0 $VSSIMG $S backup a.img
pa=$(grep -o 'point [0-9a-f]\{16\}' out | head -1 | cut -d' ' -f2)
expect_exit 0 $VSSIMG $S backup b.img
pb=$(grep -o 'point [0-9a-f]\{16\}' out | head -1 | cut -d' ' -f2)
cp -a store pristine


# 1. A byte in the pack that only b.img's new data uses (the last pack written).
newest_pack=$(ls -t store/packs/*/*.pack | head -1)
# In an encrypted store (VSSIMG_TEST_ENCRYPT) the flip lands in a sealed chunk: its seal
# fails, not a record checksum; mid-pack, so the pack's header and table stay readable.
cause="checksum mismatch" at=5000
[ "$ENCRYPTED" = 1 ] && cause="authentication failed" at=$(( $(stat -c %s "$newest_pack") / 2 ))
flip "$newest_pack" "$at"
expect_exit 0 $VSSIMG $S verify            # structure is intact
expect_exit 12 $VSSIMG $S verify --read-data
grep -q "point $pb at volume offset" out || { cat out; fail "damage not attributed to point $pb"; }
grep -q "point $pa" out && fail "undamaged point $pa reported"
grep -q "$cause" out || { cat out; fail "cause not named"; }
pass "flipped pack byte: verify --read-data exit 12 names point, offset and pack"
expect_exit 12 $VSSIMG $S restore "$pb" rb.img
[ -e rb.img ] && fail "restore left a file behind"
grep -q "volume offset" err || fail "restore error does not name the offset"
expect_exit 0 $VSSIMG $S restore "$pa" ra.img
cmp a.img ra.img || fail "unaffected point does not restore"
pass "restore of the damaged point fails (exit 12); the other point restores"

# 2. A truncated index segment.
rm -rf store && cp -a pristine store
seg=$(ls store/index/*.idx | head -1)
truncate -s -100 "$seg"
expect_exit 12 $VSSIMG $S verify
grep -q "index segment" out || fail "truncated segment not named"
grep -q "not in the index" out || fail "lost blocks not reported"
pass "truncated index segment: verify exit 12"

# 3. A garbled point file.
rm -rf store && cp -a pristine store
flip "store/points/$pa.point" 200
expect_exit 12 $VSSIMG $S verify
grep -q "point $pa" out || fail "garbled point not named"
expect_exit 12 $VSSIMG $S restore "$pa" ra2.img
[ -e ra2.img ] && fail "restore of a garbled point wrote a file"
expect_exit 0 $VSSIMG $S verify "$pb" --read-data
pass "garbled point file: verify exit 12; the other point verifies"

# 4. After a damaged index the next backup stores the lost blocks again and verifies.
rm -rf store && cp -a pristine store
rm store/index/*.idx
expect_exit 12 $VSSIMG $S verify
expect_exit 3 $VSSIMG $S backup b.img
expect_exit 0 $VSSIMG $S verify latest --read-data
pass "backup after losing the index stores the data again (exit 3 with a warning)"
echo "$TESTS_RUN passed, 0 failed"
