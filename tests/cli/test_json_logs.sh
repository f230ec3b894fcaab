#!/usr/bin/env bash
# Every command's --json output parses line by line and matches docs/json.md (fields,
# types, a final summary whose exit_code is the process's, exit_error exactly on
# failure); --log-file gets timestamped start/summary/warning/error lines of every run,
# never progress, and whole lines when runs share it.
HERE=$(cd "$(dirname "$0")" && pwd)
DOCS=$HERE/../../docs/json.md
source "$HERE/lib.sh" "$1"
S="--store $WORK/store"
LOG=$WORK/nightly.log

# run_json CODE COMMAND ARGS...: runs `vssimg --json --log-file LOG ARGS`, expects CODE,
# and checks the output against docs/json.md.
run_json() {
  local code=$1 command=$2; shift 2
  expect_exit "$code" $VSSIMG $S --json --log-file "$LOG" --progress always "$@"
  python3 "$HERE/check_json.py" "$DOCS" "$command" "$code" "$WORK/out" || fail "JSON of '$*' does not match docs/json.md"
  local name=${command:-vssimg}
  grep -q "\] $name started: vssimg" "$LOG" || fail "no start line for $name in the log"
  tail -1 "$LOG" | grep -q "\] $name finished with exit code $code; summary {" || {
    tail -3 "$LOG"; fail "no summary line for $command in the log"; }
}

# The checker itself rejects what it must (a test that cannot fail is a defect).
check_rejects() {
  printf '%s\n' "$2" > probe.jsonl
  if python3 "$HERE/check_json.py" "$DOCS" list "$1" probe.jsonl >/dev/null 2>&1; then fail "checker accepted: $2"; fi
}
check_rejects 0 '{"type":"summary","command":"list","exit_code":0,"points":1,"surprise":1}'
check_rejects 0 '{"type":"summary","command":"list","exit_code":0}'
check_rejects 0 '{"type":"summary","command":"list","exit_code":0,"points":"1"}'
check_rejects 10 '{"type":"summary","command":"list","exit_code":10}'
check_rejects 0 '{"type":"point","id":"x"}'
check_rejects 0 'not json'
pass "the JSON checker rejects undocumented, missing and mistyped fields and a failure without exit_error"

head -c 4M /dev/urandom > vol.img
run_json 0 init init --block-size 64K
run_json 0 backup backup vol.img --label first
VSSIMG_FAKE_NOW=$(( $(date +%s) + 3600 )) run_json 0 backup backup vol.img --keep-last 1
grep -q '"type":"point".*"keep":false' out || fail "backup --keep-last 1 reports no removed point"
run_json 0 list list
run_json 0 show show latest
python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); assert isinstance(r["created"], int)' out \
  || fail "show's created is not a number"
run_json 0 verify verify --read-data
run_json 0 verify verify --subset 1/2 --max-duration 10min
run_json 0 restore restore latest restored.img
cmp -s vol.img restored.img || fail "restore differs"
run_json 0 forget forget --keep-last 1 --dry-run
run_json 0 forget forget --keep-within 1d --prune
run_json 0 prune prune --repack-threshold 0%
run_json 0 prune prune --dry-run
pass "every command's JSON matches docs/json.md: init, backup (--keep-last), list, show, verify (--subset), restore, forget (--dry-run, --prune), prune"

# Failures end with an error record and a summary carrying exit_error.
S="--store $WORK/no-store" run_json 10 list list
run_json 2 forget forget
run_json 2 verify verify --subset 0/3
run_json 1 backup backup missing.img
run_json 2 "" --no-such-flag
grep -q "vssimg finished with exit code 2" "$LOG" || fail "usage error without a command not logged"
hold_lock store/locks/store.lock
run_json 11 prune --lock-wait 0 prune
release_lock
# Damage: flip a byte in the middle of a pack.
pack=$(find store/packs -name '*.pack' | head -1)
byte=$(od -An -tu1 -j100000 -N1 "$pack" | tr -d ' ')  # flip all its bits: never a no-op
printf "\\$(printf '%03o' $((byte ^ 255)))" | dd of="$pack" bs=1 seek=100000 conv=notrunc status=none
run_json 12 verify verify --read-data
grep -q '"type":"damage"' out || fail "no damage record"
mv "$pack" "$WORK/lost.pack"  # prune refuses to work on a store that lost a pack
run_json 12 prune prune
grep -q 'missing; nothing was deleted' err || fail "prune refusal does not say nothing was deleted"
pass "failing runs (exit 1, 2, 10, 11, 12) end with an error record and a summary with exit_error"

# The log: timestamped whole lines, errors and warnings, no progress.
bad=$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} \[[0-9]+\] ' "$LOG" || true)
[ "$bad" = 0 ] || { grep -vE '^[0-9]{4}-' "$LOG" | head; fail "$bad log lines without a timestamp and pid"; }
grep -q 'error (exit 10): opening store .*no-store' "$LOG" || fail "store-not-found error not logged"
grep -q 'error (exit 12): pruning' "$LOG" || fail "prune refusal not logged"
grep -q 'backup of vol.img into .* started' "$LOG" || fail "backup source not logged"
grep -q 'forget: removed point' "$LOG" || fail "removed points not logged"
grep -qE 'ETA|%\]|/s  ' "$LOG" && fail "progress went to the log file"
pass "log file: timestamp and pid on every line; start, source, summary, error lines; no progress"

# Warnings reach the log (backup --keep-* refused while the store is held).
hold_lock store/locks/store.lock
printf 'x' | dd of=vol.img bs=1 seek=5 conv=notrunc status=none
run_json 3 backup --lock-wait 0 backup vol.img --keep-last 1
release_lock
grep -q '"type":"warning"' out || fail "no warning record for the skipped retention"
grep -q 'warning: retention not applied' "$LOG" || fail "warning not in the log"
pass "a warning (retention skipped: store in use) is a warning record, exit 3, and a log line"

# Shared between concurrent runs: whole lines only.
: > "$LOG"
for i in $(seq 1 12); do $VSSIMG $S --log-file "$LOG" list >/dev/null 2>&1 & done
wait
lines=$(wc -l < "$LOG")
good=$(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} \[[0-9]+\] list (started|finished)' "$LOG" || true)
[ "$lines" = 24 ] && [ "$good" = 24 ] || { cat "$LOG"; fail "12 concurrent runs wrote $lines lines, $good whole"; }
pass "12 concurrent runs appending to one log file: 24 whole lines"
echo "$TESTS_RUN passed, 0 failed"
