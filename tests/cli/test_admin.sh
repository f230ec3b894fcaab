#!/usr/bin/env bash
# What a new admin hits: did-you-mean, the duration grammar, quiet runs, a log file that
# cannot be opened, restore to a pipe, id prefixes in upper case, a source in use, and
# permission errors as exit 14.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh" "$1"

head -c 5M /dev/urandom > src.img
head -c 1M /dev/zero >> src.img
S="--store $WORK/store"
expect_exit 0 $VSSIMG $S init
expect_exit 0 $VSSIMG $S backup src.img

# Did you mean; the help of the command meant.
expect_exit 2 $VSSIMG $S lsit
grep -q "unknown command 'lsit'; did you mean 'list'? (see vssimg list --help)" err || { cat err; fail "lsit"; }
expect_exit 2 $VSSIMG $S snapshots
grep -q "did you mean 'snapshot'?" err || { cat err; fail "snapshots"; }
expect_exit 2 $VSSIMG $S backup src.img --lable x
grep -q "unknown option '--lable' for backup; did you mean '--label'? (see vssimg backup --help)" err || { cat err; fail "--lable"; }
expect_exit 2 $VSSIMG $S list first second
grep -q "unexpected argument(s) by list: first second" err || { cat err; fail "extras order"; }
expect_exit 2 $VSSIMG $S --json lsit
python3 "$HERE/check_json.py" "$HERE/../../docs/json.md" "" 2 out || fail "usage error JSON"
grep -q "did you mean 'list'" out || fail "JSON error without the suggestion"
pass "unknown command and flag: did you mean, the command's --help, extras in order"

# One duration grammar: bare m is refused in both flags, min and mo are taken.
expect_exit 2 $VSSIMG $S forget --keep-within 6m
grep -q "write min or mo" err || { cat err; fail "keep-within 6m"; }
expect_exit 2 $VSSIMG $S verify --read-data --max-duration 45m
grep -q "write min or mo" err || { cat err; fail "max-duration 45m"; }
expect_exit 0 $VSSIMG $S verify --read-data --max-duration 45min
expect_exit 0 $VSSIMG $S forget --keep-within 6mo --dry-run
grep -q "within 6mo" out || { cat out; fail "6mo not shown as 6mo"; }
expect_exit 2 $VSSIMG $S verify --max-duration 1h
grep -q "add --read-data" err || { cat err; fail "max-duration without read-data"; }
expect_exit 2 $VSSIMG $S forget --keep-daily 0
grep -q "0 keeps no points" err || { cat err; fail "keep-daily 0"; }
pass "durations: min/mo, bare m refused; --max-duration needs --read-data; --keep-daily 0 refused"

# Upper-case id prefixes.
id=$($VSSIMG $S --json list | python3 -c 'import json,sys
for l in sys.stdin:
  r=json.loads(l)
  if r["type"]=="point": print(r["id"])')
prefix=$(echo "${id:0:6}" | tr a-f A-F)
expect_exit 0 $VSSIMG $S show "$prefix"
grep -q "$id" out || { cat out; fail "show $prefix"; }
pass "show with an upper-case prefix"

# -q: nothing at all on success; --json still prints its records.
expect_exit 0 $VSSIMG $S -q backup src.img
[ ! -s out ] && [ ! -s err ] || { cat out err; fail "-q printed something"; }
expect_exit 0 $VSSIMG $S -q --json list
grep -q '"type":"summary"' out || fail "-q --json lost the records"
expect_exit 2 $VSSIMG $S -q list --nope
[ -s err ] || fail "-q hid an error"
pass "-q: silent on success, errors still shown, JSON unaffected"

# A log file that cannot be opened: a warning, a JSON warning record, exit 3.
expect_exit 3 $VSSIMG $S --log-file "$WORK/no/such/dir/x.log" list
grep -q "warning: opening log file .*x.log" err || { cat err; fail "no log warning"; }
expect_exit 3 $VSSIMG $S --json --log-file "$WORK/no/such/dir/x.log" list
python3 "$HERE/check_json.py" "$HERE/../../docs/json.md" list 3 out || fail "JSON"
grep -q '"type":"warning".*x.log' out || { cat out; fail "no JSON warning record"; }
grep -q '"exit_code":3' out || fail "summary exit code"
pass "--log-file that cannot be opened: warning, JSON record, exit 3"

# Restore to a pipe: "-" and /dev/stdout, the same bytes as the source, zeros included.
set -o pipefail
$VSSIMG $S restore latest - 2>err | cmp - src.img || { cat err; fail "restore - differs"; }
$VSSIMG $S restore latest /dev/stdout 2>err | sha256sum > got.sum || { cat err; fail "restore /dev/stdout"; }
[ "$(cut -d' ' -f1 got.sum)" = "$(sha256sum < src.img | cut -d' ' -f1)" ] || fail "/dev/stdout bytes"
$VSSIMG $S --threads 4 restore latest - 2>/dev/null | cmp - src.img || fail "restore - with 4 threads"
set +o pipefail
expect_exit 2 $VSSIMG $S --json restore latest -
pass "restore to standard output: a pipe gets the exact image"

# A source that is in use (the check is a test seam: nothing can be mounted here).
VSSIMG_TEST_DEVICE_USER="src.img=its partition loop0p1 is mounted on /mnt" \
  expect_exit 3 $VSSIMG $S --json backup src.img
[ "$(grep -c '"type":"warning"' out)" = 1 ] || { cat out; fail "expected one warning record"; }
grep -q 'crash-consistent.*unmount it or back up a snapshot' out || { cat out; fail "warning text"; }
expect_exit 0 $VSSIMG $S --json show latest
grep -q '"consistency":"crash"' out || { cat out; fail "consistency not crash"; }
pass "a source in use: one warning, consistency crash, exit 3"

# A store this user cannot write is read without a lock (issue 16); one it cannot read
# is exit 14 naming what failed (needs root to make another user).
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  chmod -R a+rX "$WORK"
  as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
  out_dir=$(mktemp -d "$WORK/nobody.XXXXXX"); chmod 0777 "$out_dir"
  for cmd in list verify "restore latest $out_dir/nobody.img"; do
    expect_exit 0 as_nobody $VSSIMG $S $cmd
    grep -q "read-only for this user" err || { cat err; fail "$cmd: no read-only note"; }
  done
  $VSSIMG $S restore latest - >"$out_dir/root.img" 2>/dev/null
  cmp -s "$out_dir/nobody.img" "$out_dir/root.img" || fail "restore as nobody differs"
  expect_exit 14 as_nobody $VSSIMG $S backup src.img
  expect_one_line_error "read-only"
  chmod 0700 "$WORK/store"
  expect_exit 14 as_nobody $VSSIMG $S list
  grep -q "permission denied" err || { cat err; fail "unreadable store"; }
  pass "a store this user cannot write: list, verify, restore work with a note; backup and an unreadable store exit 14 and say why"
else
  echo "skip - permission tests need root (to run as another user)"
fi

# JSON: a source name that is not UTF-8 still gives lines that parse; created_time is
# RFC 3339; every record of repair index is documented.
DOCS="$HERE/../../docs/json.md"
cp src.img "$(printf 'bad\xff.img')"
expect_exit 0 $VSSIMG $S --json backup "$(printf 'bad\xff.img')"
python3 "$HERE/check_json.py" "$DOCS" backup 0 out || { cat out; fail "backup of bad\\xff.img: JSON"; }
grep -q 'bad\\ufffd.img' out || { cat out; fail "the invalid byte is not U+FFFD"; }
expect_exit 0 $VSSIMG $S --json list
python3 "$HERE/check_json.py" "$DOCS" list 0 out || fail "list JSON"
python3 - "$WORK/out" <<'PY' || fail "created_time is not the RFC 3339 form of created"
import datetime, json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    if r["type"] == "point":
        t = datetime.datetime.fromtimestamp(r["created"], datetime.timezone.utc)
        assert r["created_time"] == t.strftime("%Y-%m-%dT%H:%M:%SZ"), r
PY
expect_exit 0 $VSSIMG $S --json repair index
python3 "$HERE/check_json.py" "$DOCS" repair 0 out || { cat out; fail "repair index JSON"; }
pack=$(find store/packs -name '*.pack' | head -1)
head -c 64 /dev/urandom | dd of="$pack" bs=1 seek=$(( $(stat -c %s "$pack") - 64 )) conv=notrunc status=none  # its table
expect_exit 3 $VSSIMG $S --json repair index
python3 "$HERE/check_json.py" "$DOCS" repair 3 out || { cat out; fail "repair index JSON with a damaged pack"; }
grep -q '"type":"warning"' out || { cat out; fail "repair index: no warning for the damaged pack"; }
pass "JSON: invalid UTF-8 replaced, created_time, repair index records documented"
