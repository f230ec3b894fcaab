#!/usr/bin/env bash
# A store written by an earlier build (tests/fixtures/store-v1) still lists, verifies,
# restores byte-identical and takes a new backup: the on-disk format stays version 1.
source "$(dirname "$0")/lib.sh" "$1"

cp -r "$(dirname "$0")/../fixtures/store-v1" store
S="--store $WORK/store"
expect_exit 0 $VSSIMG $S list
for p in 54f9fe7a3a2ac315 2e92b65381eaadcc 22d3746a2c8fdcc0; do
  grep -q "^$p " out || fail "list does not show point $p"
done
pass "list shows the three points of the old store"

expect_exit 0 $VSSIMG $S verify --read-data
pass "verify --read-data of the old store: clean"

check() {  # check POINT SHA256
  expect_exit 0 $VSSIMG $S restore "$1" "r-$1.img"
  [ "$(sha256sum "r-$1.img" | cut -d' ' -f1)" = "$2" ] || fail "restore of $1 differs from the image it was taken of"
}
check 54f9fe7a3a2ac315 4e15c0d1417f7de19876607dd6ab3d72c69da38840efe2244b7898a07eae165c
check 2e92b65381eaadcc 001d26ce3609697de2c96b0dfbe2b8dabe43456cd27a6f89c599b2b96d0da95b
check 22d3746a2c8fdcc0 4e15c0d1417f7de19876607dd6ab3d72c69da38840efe2244b7898a07eae165c
pass "every old point restores byte-identical"

cp r-2e92b65381eaadcc.img new.img
printf 'new data' | dd of=new.img bs=1 seek=70000 conv=notrunc status=none
expect_exit 0 $VSSIMG $S backup new.img --label fourth
np=$(grep -o 'point [0-9a-f]\{16\}' out | head -1 | cut -d' ' -f2)
expect_exit 0 $VSSIMG $S verify --read-data
expect_exit 0 $VSSIMG $S restore "$np" r-new.img
cmp new.img r-new.img || fail "restore of the new point in the old store differs"
pass "a new backup into the old store verifies and restores"
echo "$TESTS_RUN passed, 0 failed"
