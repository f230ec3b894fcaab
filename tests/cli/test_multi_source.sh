#!/usr/bin/env bash
# backup SOURCE...: several sources in one run, a point each in the order given; each
# restores byte-identical; the JSON has one backup_point record per source and a summary
# of totals; a failing source ends the run with its exit code and keeps the points
# committed before it; --label and --keep-* apply per source; flag errors exit 2.
source "$(dirname "$0")/lib.sh" "$1"

make_tree tree-a 24
make_tree tree-b 12
make_ext4 a.img 64 tree-a
make_ext4 b.img 48 tree-b
S="--store $WORK/store"
DOCS="$(dirname "$0")/../../docs/json.md"
CHECK="$(dirname "$0")/check_json.py"
expect_exit 0 $VSSIMG $S init

expect_exit 0 $VSSIMG $S backup a.img b.img --label nightly
mapfile -t ids < <(grep -o '^point [0-9a-f]\{16\}' out | cut -d' ' -f2)
[ "${#ids[@]}" = 2 ] || fail "expected two points, got ${#ids[@]}: $(cat out)"
grep -A1 "^point ${ids[0]}" out | grep -q "source    $WORK/a.img" || fail "first point is not a.img"
grep -A1 "^point ${ids[1]}" out | grep -q "source    $WORK/b.img" || fail "second point is not b.img"
pass "backup a.img b.img: two points, in the order given"

expect_exit 0 $VSSIMG $S list
grep -q "^${ids[0]} .*$WORK/a.img *nightly" out || fail "list lacks the a.img point: $(cat out)"
grep -q "^${ids[1]} .*$WORK/b.img *nightly" out || fail "list lacks the b.img point: $(cat out)"
# Image files are read one after another, not at one instant: no snapshot set.
! grep -q "snapshot set" out || fail "list marks image files as a snapshot set"
expect_exit 0 $VSSIMG $S --json list
[ "$(grep -c '"type":"point"' out)" = 2 ] || fail "list --json does not show two points"
grep -q '"snapshot_set":""' out || fail "list --json lacks an empty snapshot_set"
python3 "$CHECK" "$DOCS" list 0 out || fail "list --json does not match docs/json.md"
pass "list shows both points with the label, no snapshot set for image files"

expect_exit 0 $VSSIMG $S restore "${ids[0]}" ra.img
cmp a.img ra.img || fail "a.img restores differently"
expect_exit 0 $VSSIMG $S restore "${ids[1]}" rb.img
cmp b.img rb.img || fail "b.img restores differently"
pass "each point restores byte-identical"

# A second run: each source compared with its own parent; JSON per source plus totals.
expect_exit 0 $VSSIMG $S --json backup a.img b.img
python3 "$CHECK" "$DOCS" backup 0 out || fail "backup --json does not match docs/json.md"
[ "$(grep -c '"type":"backup_point"' out)" = 2 ] || fail "not one backup_point per source"
grep '"type":"backup_point"' out | head -1 | grep -q "\"parent\":\"${ids[0]}\"" ||
  fail "a.img not compared with its own parent"
grep '"type":"backup_point"' out | tail -1 | grep -q "\"parent\":\"${ids[1]}\"" ||
  fail "b.img not compared with its own parent"
sum=$(python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
pts = [r for r in recs if r["type"] == "backup_point"]
s = recs[-1]
ok = s["points"] == 2 and "point" not in s and all(
    s[k] == sum(p[k] for p in pts) for k in ("source_size", "bytes_read", "new_bytes", "reused_bytes"))
print("ok" if ok else "bad")' out)
[ "$sum" = ok ] || fail "the summary does not total the points: $(tail -1 out)"
pass "backup --json: one backup_point per source, each with its own parent; the summary totals them"

# One source: the summary keeps the fields of a one-source backup.
expect_exit 0 $VSSIMG $S --json backup a.img
python3 "$CHECK" "$DOCS" backup 0 out || fail "one-source backup --json does not match docs/json.md"
tail -1 out | grep -q '"points":1,"point":"[0-9a-f]\{16\}","parent":"[0-9a-f]\{16\}","source":"'"$WORK"'/a.img"' ||
  fail "one-source summary lost its fields: $(tail -1 out)"
pass "one source: the summary has point, parent and source as before"

# A source that cannot be opened fails the run before any point (exit 1).
expect_exit 0 $VSSIMG $S list
before=$(grep -c '^[0-9a-f]\{16\} ' out)
expect_exit 1 $VSSIMG $S --json backup b.img missing.img a.img
python3 "$CHECK" "$DOCS" backup 1 out || fail "failed backup --json does not match docs/json.md"
tail -1 out | grep -q '"points":0' || fail "a run with a missing source wrote points: $(tail -1 out)"
grep -q '"type":"error".*missing.img' out || fail "the error does not name missing.img"
expect_exit 0 $VSSIMG $S list
[ "$(grep -c '^[0-9a-f]\{16\} ' out)" = "$before" ] || fail "a run with a missing source left a point"
pass "a missing source: exit 1 naming it, before any point is written"

# A source that fails while it is read ends the run: the points before it stay, later
# sources are not read, the exit code is the error's (1).
expect_exit 1 env VSSIMG_FAULT_READ="a.img:1024" $VSSIMG $S --json backup b.img a.img
python3 "$CHECK" "$DOCS" backup 1 out || fail "failed backup --json does not match docs/json.md"
tail -1 out | grep -q '"points":1' || fail "the failed run's summary does not count the committed point: $(tail -1 out)"
grep -q '"type":"backup_point".*b.img' out || fail "the committed point is not reported"
grep -q '"type":"error".*a.img' out || fail "the error does not name a.img"
expect_exit 0 $VSSIMG $S list
[ "$(grep -c '^[0-9a-f]\{16\} ' out)" = $((before + 1)) ] || fail "expected one more point after the failed run"
expect_exit 0 $VSSIMG $S verify
expect_exit 1 env VSSIMG_FAULT_READ="a.img:1024" $VSSIMG $S backup b.img a.img
grep -q "1 of 2 points were committed before the failure" err || fail "the failure does not say what was committed: $(cat err)"
pass "a read failure of the second source: exit 1, the first point stays and verifies"

# --keep-* per source: --keep-last 1 leaves one point of each source.
expect_exit 0 $VSSIMG $S backup a.img b.img --keep-last 1
expect_exit 0 $VSSIMG $S list --source a.img
[ "$(grep -c '^[0-9a-f]\{16\} ' out)" = 1 ] || fail "--keep-last 1 left $(grep -c '^[0-9a-f]\{16\} ' out) points of a.img"
expect_exit 0 $VSSIMG $S list --source b.img
[ "$(grep -c '^[0-9a-f]\{16\} ' out)" = 1 ] || fail "--keep-last 1 left more than one point of b.img"
pass "--keep-last 1 with two sources keeps the newest point of each"

# Usage errors name the flag or the source, exit 2, nothing written.
fp=$(store_fingerprint store)
expect_exit 2 $VSSIMG $S backup a.img a.img
expect_one_line_error "a.img: this source is given twice"
expect_exit 2 $VSSIMG $S backup a.img --vss-retry-wait -1
expect_one_line_error "\-\-vss-retry-wait"
expect_exit 2 $VSSIMG $S backup a.img --vss-retry-wait soon
expect_one_line_error "\-\-vss-retry-wait"
expect_exit 2 $VSSIMG $S backup a.img --exclude-writer ""
expect_one_line_error "\-\-exclude-writer"
expect_exit 2 $VSSIMG $S backup a.img b.img --snapshot=always
expect_one_line_error "needs a volume"
[ "$(store_fingerprint store)" = "$fp" ] || fail "a usage error changed the store"
pass "a source given twice, bad --vss-retry-wait and --exclude-writer, --snapshot=always with files: exit 2, store unchanged"

# On Linux the VSS flags are accepted and harmless for files (they only matter for volumes).
expect_exit 0 $VSSIMG $S backup a.img b.img --exclude-writer "SqlServerWriter" --exclude-writer "{00000000-0000-0000-0000-000000000000}" --vss-retry-wait 600
pass "--exclude-writer (repeated) and --vss-retry-wait accepted with image files"
