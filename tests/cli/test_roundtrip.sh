#!/usr/bin/env bash
# Backup -> restore is byte-identical on a real ext4 image; an unchanged second backup
# costs <1%; after a debugfs change the store grows by about the changed data.
source "$(dirname "$0")/lib.sh" "$1"

make_tree tree 120
make_ext4 vol.img 256 tree
head -c 8M /dev/urandom > change.bin
S="--store $WORK/store"

expect_exit 0 $VSSIMG $S init
pass "init"
expect_exit 0 $VSSIMG $S backup vol.img --label first
p1=$(grep -o 'point [0-9a-f]\{16\}' out | head -1 | cut -d' ' -f2)
[ -n "$p1" ] || fail "no point id in backup output"
size1=$(store_bytes store)
pass "first backup ($size1 bytes in store)"

expect_exit 0 $VSSIMG $S backup vol.img --label unchanged
size2=$(store_bytes store)
grow=$((size2 - size1))
img=$(stat -c %s vol.img)
[ $((grow * 100)) -lt "$img" ] || fail "unchanged backup grew the store by $grow bytes (image $img)"
pass "unchanged backup grew the store by $grow bytes (< 1% of $img)"

debugfs -w -R "write change.bin /new-file.bin" vol.img >/dev/null 2>&1
debugfs -w -R "rm /$(ls tree | head -1)" vol.img >/dev/null 2>&1 || true
expect_exit 0 $VSSIMG $S backup vol.img --label changed
p3=$(grep -o 'point [0-9a-f]\{16\}' out | head -1 | cut -d' ' -f2)
size3=$(store_bytes store)
grow=$((size3 - size2))
[ "$grow" -ge $((8 * 1024 * 1024)) ] || fail "store grew by only $grow bytes after writing 8 MiB"
[ "$grow" -le $((12 * 1024 * 1024)) ] || fail "store grew by $grow bytes after writing 8 MiB of new data"
pass "changed backup grew the store by $grow bytes for 8 MiB of new data"

cp vol.img vol-changed.img
expect_exit 0 $VSSIMG $S restore "$p3" r3.img
cmp vol-changed.img r3.img || fail "restore of the changed point differs"
expect_exit 0 $VSSIMG $S restore "${p1:0:8}" r1.img
e2fsck -fn r1.img >/dev/null 2>&1 || fail "e2fsck fails on the first restored image"
e2fsck -fn r3.img >/dev/null 2>&1 || fail "e2fsck fails on the changed restored image"
debugfs -R "dump /new-file.bin r3-new.bin" r3.img >/dev/null 2>&1
cmp change.bin r3-new.bin || fail "file written by debugfs differs after restore"
pass "restores are byte-identical and pass e2fsck -fn"

expect_exit 0 $VSSIMG $S verify --read-data
grep -q "no damage" out || fail "verify did not say no damage"
expect_exit 0 $VSSIMG $S list
[ "$(grep -c '^[0-9a-f]\{16\}' out)" = 3 ] || fail "list does not show 3 points"
expect_exit 0 $VSSIMG $S show latest
grep -q "$p3" out || fail "show latest is not the newest point"
pass "verify --read-data, list, show"

# Restored sparse: zero blocks are holes.
alloc=$(du -B1 r3.img | cut -f1)
[ "$alloc" -lt "$img" ] || fail "restored image is not sparse ($alloc allocated of $img)"
pass "restored image is sparse ($alloc of $img bytes allocated)"
echo "$TESTS_RUN passed, 0 failed"
