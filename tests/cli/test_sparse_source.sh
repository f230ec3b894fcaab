#!/usr/bin/env bash
# Holes of a sparse image file are recorded ZERO without being read (SEEK_DATA/SEEK_HOLE):
# the same ext4 image backed up sparse and as a fully allocated copy gives identical
# restores; the sparse one reads exactly the hole bytes less, and says so.
source "$(dirname "$0")/lib.sh" "$1"

make_tree tree 8
# mkfs.ext4 leaves the uninitialised inode tables of a file image as holes, though the
# bitmap marks them used.
mkfs.ext4 -q -F -E root_owner=0:0,lazy_itable_init=1 -d tree sparse.img 512M >/dev/null 2>&1 ||
  fail "mkfs.ext4 failed"
cp --sparse=never sparse.img full.img
alloc=$(du -B1 sparse.img | cut -f1)
size=$(stat -c %s sparse.img)
[ "$alloc" -lt "$size" ] || fail "sparse.img is not sparse here ($alloc of $size allocated)"
S="--store $WORK/store"
expect_exit 0 $VSSIMG $S init --block-size 64K

field() { python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]])" "$WORK/out" "$1"; }

expect_exit 0 $VSSIMG $S --json backup full.img
full_read=$(field bytes_read); full_holes=$(field hole_skipped_bytes); pf=$(field point)
expect_exit 0 $VSSIMG $S --json backup sparse.img
sp_read=$(field bytes_read); sp_holes=$(field hole_skipped_bytes); sp_free=$(field free_skipped_bytes)
ps=$(field point)
[ "$full_holes" = 0 ] || fail "a fully allocated file reported $full_holes hole bytes"
[ "$sp_holes" -gt 0 ] || fail "no hole bytes skipped in a sparse image ($alloc of $size allocated)"
[ $((sp_read + sp_holes)) = "$full_read" ] ||
  fail "sparse read $sp_read + holes $sp_holes != full read $full_read"
[ $((sp_read + sp_holes + sp_free)) = "$size" ] || fail "read + holes + free != size"
pass "sparse image: $sp_holes bytes of holes not read, $sp_read read (full copy: $full_read)"

expect_exit 0 $VSSIMG $S backup sparse.img
grep -q "holes, not read" out || { cat out; fail "summary does not mention the holes"; }
pass "the summary names the hole bytes"

expect_exit 0 $VSSIMG $S restore "$ps" rs.img
expect_exit 0 $VSSIMG $S restore "$pf" rf.img
cmp rs.img sparse.img || fail "restore of the sparse backup differs from the image"
cmp rf.img rs.img || fail "the two restores differ"
e2fsck -fn rs.img >/dev/null 2>&1 || fail "e2fsck fails on the restored image"
expect_exit 0 $VSSIMG $S verify --read-data
pass "restores equal the image and each other, e2fsck clean, verify clean"
echo "$TESTS_RUN passed, 0 failed"
