#!/usr/bin/env bash
# Bad input gets one clear error line naming the object, a documented exit code, and
# never changes the store.
source "$(dirname "$0")/lib.sh" "$1"

head -c 3M /dev/urandom > src.img
S="--store $WORK/store"
expect_exit 0 $VSSIMG $S init
expect_exit 0 $VSSIMG $S backup src.img
before=$(store_fingerprint store)

expect_exit 1 $VSSIMG $S backup missing.img
expect_one_line_error "missing.img"
pass "missing source: exit 1, names it"

mkdir adir
expect_exit 1 $VSSIMG $S backup adir
expect_one_line_error "adir.*directory"
pass "directory source: exit 1"

: > empty.img
expect_exit 1 $VSSIMG $S backup empty.img
expect_one_line_error "empty.img.*empty"
pass "empty source: exit 1"

expect_exit 10 $VSSIMG --store "$WORK/nostore" backup src.img
expect_one_line_error "nostore"
expect_exit 10 $VSSIMG --store "$WORK/nostore" list
pass "missing store: exit 10"

expect_exit 10 $VSSIMG --store "$WORK/src.img" list
expect_one_line_error "src.img.*not a store"
pass "store path is a regular file: exit 10"

mkdir notastore
expect_exit 10 $VSSIMG --store "$WORK/notastore" verify
expect_one_line_error "not a vssimg store"
pass "directory without config: exit 10"

expect_exit 2 $VSSIMG $S backup src.img --no-such-flag
expect_one_line_error "no-such-flag"
expect_exit 2 $VSSIMG
expect_exit 2 $VSSIMG frobnicate
pass "unknown flag / no command / unknown command: exit 2"

expect_exit 2 $VSSIMG $S restore 0123456789abcdef out.img
expect_one_line_error "0123456789abcdef.*no such recovery point"
expect_exit 2 $VSSIMG $S show zz
expect_one_line_error "zz"
pass "unknown point: exit 2"

echo "precious" > existing.img
expect_exit 2 $VSSIMG $S restore latest existing.img
expect_one_line_error "existing.img.*--force"
[ "$(cat existing.img)" = precious ] || fail "existing file was changed"
pass "restore onto an existing file without --force: exit 2, file untouched"

expect_exit 2 $VSSIMG backup src.img
expect_one_line_error "VSSIMG_STORE"
pass "no store given: exit 2"

VSSIMG_STORE="$WORK/store" expect_exit 0 $VSSIMG list
pass "VSSIMG_STORE names the store"

# A store of a newer format is refused (exit 10), naming both versions, and not modified.
cp -a store newer
python3 - newer/config <<'PY'
import sys, struct
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[8:12] = struct.pack('<I', 9)
open(p, 'wb').write(b)
PY
nb=$(store_fingerprint newer)
expect_exit 10 $VSSIMG --store "$WORK/newer" backup src.img
expect_one_line_error "version 9 is newer.*(1)"
[ "$nb" = "$(store_fingerprint newer)" ] || fail "newer store was modified"
pass "newer store format: exit 10, both versions named, untouched"

expect_exit 2 $VSSIMG --json $S show nope
tail -1 out | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); assert d["type"]=="summary" and d["exit_code"]==2 and "nope" in d["exit_error"], d'
pass "--json failure ends with a summary carrying exit_error"

[ "$before" = "$(store_fingerprint store)" ] || fail "the store changed"
pass "store unchanged by all of the above"
echo "$TESTS_RUN passed, 0 failed"
