#!/usr/bin/env bash
# scripts/windows/nightly-backup.cmd under Wine's cmd.exe, its branches checked through
# %ERRORLEVEL%: (1) with a fake vssimg.exe (built here with MinGW) returning every
# documented exit code and an unknown one from each step; (2) against the real Windows
# build (build-win/vssimg.exe, from scripts/build-windows): a real night on an image
# file, a missing store (10), a bad retention flag (2), damage (12). Parts whose tools
# are missing are skipped with a visible SKIP line.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BATCH=$ROOT/scripts/windows/nightly-backup.cmd
TESTS_RUN=0
SKIPPED=0
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { TESTS_RUN=$((TESTS_RUN + 1)); echo "ok $TESTS_RUN - $*"; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "SKIP: $*"; }

python3 "$HERE/check_scripts.py" "$ROOT/scripts/windows" | sed 's/^ok [0-9]* - /  structure: /'
pass "scripts/windows structure (XML, PowerShell, batch, schtasks)"

WINE=$(command -v wine64 || true)
[ -n "$WINE" ] || { [ -x /usr/lib/wine/wine64 ] && WINE=/usr/lib/wine/wine64; } || true
[ -n "$WINE" ] || WINE=$(command -v wine || true)
if [ -z "$WINE" ]; then
  skip "wine is not installed: nightly-backup.cmd not run (apt-get install wine64)"
  echo "$TESTS_RUN passed, 0 failed ($SKIPPED skipped)"
  exit 0
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vssimg-win.XXXXXX")
# A prefix of our own: its wineserver writes the registry into it on exit, so wait for it
# before removing the folder.
trap '[ -n "${WINESERVER:-}" ] && timeout 120 "$WINESERVER" -w 2>/dev/null; rm -rf "$WORK"' EXIT
export WINEPREFIX=${VSSIMG_WINEPREFIX:-$WORK/prefix} WINEDEBUG=-all
if [ -z "${VSSIMG_WINEPREFIX:-}" ]; then
  # Create the prefix and let it settle before the first batch: a cmd.exe started while
  # Wine is still setting up a new prefix failed once here ("ShellExecuteEx failed").
  timeout 300 "$WINE" wineboot --init >/dev/null 2>&1 || true
  WINESERVER=$(command -v wineserver || echo /usr/lib/wine/wineserver64)
  timeout 120 "$WINESERVER" -w 2>/dev/null || true
fi
winpath() { printf 'Z:%s' "$(printf '%s' "$1" | sed 's|/|\\|g')"; }

# run_batch CODE: runs the batch with the VSSIMG_* variables of the caller; output in
# $WORK/out (CR stripped); fails unless the batch's exit code is CODE.
run_batch() {
  local want=$1 got
  set +e
  timeout 300 "$WINE" cmd /c "$(winpath "$BATCH")" > "$WORK/out.raw" 2>&1
  got=$?
  if grep -q -e 'ShellExecuteEx failed' -e "Can't recognize '\"" "$WORK/out.raw"; then
    # Wine's cmd.exe could not start the batch at all (seen once), or a program the batch
    # runs by its quoted path, which exists (seen once in the third of a series of runs
    # of the same line, under load: exit 9009): once more, visibly. A step that does not
    # start changes none of the batch's state (the slice counter follows a verify that ran).
    echo "note: Wine could not start the batch or its program; running it again:" >&2
    grep -e 'ShellExecuteEx failed' -e "Can't recognize" "$WORK/out.raw" | head -2 >&2
    timeout 300 "$WINE" cmd /c "$(winpath "$BATCH")" > "$WORK/out.raw" 2>&1
    got=$?
  fi
  set -e
  tr -d '\r' < "$WORK/out.raw" | grep -v '^wine: ' > "$WORK/out" || true
  [ "$got" = "$want" ] || { cat "$WORK/out"; fail "batch exited $got, expected $want"; }
}
export VSSIMG_LOG VSSIMG_STATE_DIR VSSIMG_STORE VSSIMG_EXE
VSSIMG_LOG=$(winpath "$WORK/nightly.log")
VSSIMG_STATE_DIR=$(winpath "$WORK")

# --- 1. Every branch, with the fake -----------------------------------------------
if command -v x86_64-w64-mingw32-gcc >/dev/null; then
  x86_64-w64-mingw32-gcc -O1 -o "$WORK/fake.exe" "$HERE/fake_vssimg.c"
  export VSSIMG_EXE FAKE_BACKUP FAKE_FORGET FAKE_VERIFY FAKE_ARGS_LOG
  VSSIMG_EXE=$(winpath "$WORK/fake.exe")
  VSSIMG_STORE='\\nas\images\srv1'
  FAKE_ARGS_LOG=$(winpath "$WORK/args.log")
  declare -A meaning=([0]="success" [1]="failed;" [2]="usage error" [3]="done with warnings"
    [10]="store not found" [11]="store locked" [12]="DAMAGE" [13]="VSS failed" [14]="not elevated"
    [130]="interrupted" [77]="unknown exit code: treated as failure")
  for code in 0 1 2 3 10 11 12 13 14 130 77; do
    FAKE_BACKUP=$code FAKE_FORGET=0 FAKE_VERIFY=0
    : > "$WORK/args.log"
    run_batch "$code"
    grep -q "backup exit code $code: ${meaning[$code]}" "$WORK/out" || { cat "$WORK/out"; fail "no explanation for backup exit $code"; }
    steps=$(grep -o ' \(backup\|forget\|verify\) ' "$WORK/args.log" | tr -d ' ' | tr '\n' ' ')
    case $code in
      0) [ "$steps" = "backup forget verify " ] || fail "exit 0: ran '$steps'" ;;
      3) [ "$steps" = "backup verify " ] || fail "exit 3: ran '$steps' (retention must be skipped)"
         grep -q "retention skipped" "$WORK/out" || fail "exit 3: no 'retention skipped' line" ;;
      *) [ "$steps" = "backup " ] || fail "backup exit $code: ran '$steps' after a failed backup" ;;
    esac
  done
  pass "backup exit 0, 1, 2, 3, 10, 11, 12, 13, 14, 130 and unknown 77: explained, passed through, later steps run only after 0/3"

  for combo in "11 3 verify" "2 2 -" "3 3 verify" "1 1 -" "10 10 -"; do
    set -- $combo
    FAKE_BACKUP=0 FAKE_FORGET=$1 FAKE_VERIFY=0
    : > "$WORK/args.log"
    run_batch "$2"
    if [ "$3" = verify ]; then grep -q ' verify ' "$WORK/args.log" || fail "forget exit $1: verify not run"
    else grep -q ' verify ' "$WORK/args.log" && fail "forget exit $1: verify run after a failed forget"; fi
  done
  pass "forget exit 11 and 3 give 3 and still verify; 1, 2, 10 stop with that code"

  for code in 12 11 130 3 77; do
    FAKE_BACKUP=0 FAKE_FORGET=0 FAKE_VERIFY=$code
    run_batch "$code"
    grep -q "verify exit code $code: ${meaning[$code]}" "$WORK/out" || fail "no explanation for verify exit $code"
  done
  pass "verify exit 12, 11, 130, 3 and unknown 77 are the batch's exit code"

  # Slices rotate 1..7 and back to 1; prune only on slice 1.
  FAKE_BACKUP=0 FAKE_FORGET=0 FAKE_VERIFY=0
  rm -f "$WORK/vssimg-verify-slice.txt"
  : > "$WORK/args.log"
  for night in 1 2 3 4 5 6 7 8; do run_batch 0; done
  got=$(grep -o -- '--subset [0-9]*/7' "$WORK/args.log" | cut -d' ' -f2 | tr '\n' ' ')
  [ "$got" = "1/7 2/7 3/7 4/7 5/7 6/7 7/7 1/7 " ] || fail "verify slices over 8 nights: $got"
  [ "$(grep -c -- 'forget .*--prune' "$WORK/args.log")" = 2 ] || fail "prune did not run exactly on the two slice-1 nights"
  grep -q -- '--store \\\\nas\\images\\srv1 --log-file' "$WORK/args.log" || { head -2 "$WORK/args.log"; fail "UNC store not passed intact"; }
  grep -q 'forget --source C: --host [^ ]* --keep-daily 7 --keep-weekly 4 --keep-monthly 12' "$WORK/args.log" || fail "default retention flags not passed"
  # forget keeps to the host backup recorded (a store several servers share).
  bhost=$(tr -d '\r' <"$WORK/args.log" | grep -o 'backup C: --host [^ ]*' | head -1 | cut -d' ' -f4)
  [ -n "$bhost" ] && grep -q -- "forget --source C: --host $bhost " "$WORK/args.log" ||
    { grep -E ' (backup|forget) ' "$WORK/args.log" | head -4 >&2; fail "backup and forget do not pass the same --host ('$bhost')"; }
  grep -q '\[nightly\] finished with exit code 0' "$WORK/nightly.log" || fail "the batch's own lines are not in the log"
  pass "verify slices rotate 1/7..7/7 over a week, prune weekly, UNC store and retention flags passed intact"

  # A night whose backup or verify fails keeps its slice for the next night.
  rm -f "$WORK/vssimg-verify-slice.txt"
  : > "$WORK/args.log"
  FAKE_BACKUP=0 FAKE_FORGET=0 FAKE_VERIFY=0 run_batch 0     # slice 1 verified
  FAKE_BACKUP=13 FAKE_FORGET=0 FAKE_VERIFY=0 run_batch 13   # no verify tonight
  FAKE_BACKUP=0 FAKE_FORGET=0 FAKE_VERIFY=12 run_batch 12   # slice 2 failed
  FAKE_BACKUP=0 FAKE_FORGET=0 FAKE_VERIFY=0 run_batch 0     # slice 2 again
  got=$(grep -o -- '--subset [0-9]*/7' "$WORK/args.log" | cut -d' ' -f2 | tr '\n' ' ')
  [ "$got" = "1/7 2/7 2/7 " ] || fail "slices after failed nights: $got (expected 1/7 2/7 2/7)"
  pass "the verify slice advances only after that slice verified"

  # Exit 3 on the prune night: forget is skipped, prune still runs.
  rm -f "$WORK/vssimg-verify-slice.txt"
  : > "$WORK/args.log"
  FAKE_BACKUP=3 FAKE_FORGET=0 FAKE_VERIFY=0 run_batch 3
  grep -q ' prune' "$WORK/args.log" || { cat "$WORK/args.log"; fail "prune did not run after a backup with warnings"; }
  grep -q ' forget ' "$WORK/args.log" && fail "forget ran after a backup with warnings"
  pass "a backup with warnings skips forget but still prunes on the prune night"

  # A source with a blank and a trailing backslash arrives as one argument, without it.
  : > "$WORK/args.log"
  FAKE_BACKUP=0 FAKE_FORGET=0 FAKE_VERIFY=0 VSSIMG_SOURCE='D:\mnt\my data\' run_batch 0
  grep -qx -- '--store .* backup D:\\mnt\\my data --host [^ ]*' < <(tr -d '\r' < "$WORK/args.log") || { cat "$WORK/args.log"; fail "source with a blank (or its trailing backslash) not passed as given"; }
  grep -q '^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9] \[nightly\]' "$WORK/nightly.log" \
    || echo "note: no ISO stamp in the batch's log lines (no PowerShell under Wine: the %DATE% %TIME% fallback)"
  pass "a source with a blank and a trailing backslash is passed as one argument"
else
  skip "x86_64-w64-mingw32-gcc not installed: the fake-exe branch tests did not run"
fi

# --- 2. The real Windows build -----------------------------------------------------
EXE=${VSSIMG_WIN_EXE:-}
for c in "$ROOT/build-win/vssimg.exe" "$ROOT/build-win/cli/vssimg.exe"; do
  [ -z "$EXE" ] && [ -f "$c" ] && EXE=$c
done
if [ -z "$EXE" ] || [ ! -f "$EXE" ]; then
  skip "no build-win/vssimg.exe (run scripts/build-windows): nightly-backup.cmd not run against the real binary"
  echo "$TESTS_RUN passed, 0 failed ($SKIPPED skipped)"
  exit 0
fi
unset FAKE_BACKUP FAKE_FORGET FAKE_VERIFY
export VSSIMG_SOURCE VSSIMG_BACKUP_FLAGS VSSIMG_KEEP VSSIMG_VERIFY_SLICES
VSSIMG_EXE=$(winpath "$EXE")
VSSIMG_STORE=$(winpath "$WORK/store")
VSSIMG_SOURCE=$(winpath "$WORK/vol.img")
VSSIMG_BACKUP_FLAGS=
if grep -q -- '--snapshot' < <("$WINE" "$EXE" backup --help 2>/dev/null | tr -d '\r'); then
  VSSIMG_BACKUP_FLAGS=--snapshot=never
fi
head -c 3M /dev/urandom > "$WORK/vol.img"
"$WINE" "$EXE" --store "$VSSIMG_STORE" init --block-size 64K >/dev/null 2>&1 || fail "init with the Windows build failed"
rm -f "$WORK/vssimg-verify-slice.txt"
run_batch 0
grep -q "backup exit code 0" "$WORK/out" && grep -q "verify exit code 0" "$WORK/out" || { cat "$WORK/out"; fail "real night: steps missing"; }
grep -q '\] backup finished with exit code 0; summary' < <(tr -d '\r' < "$WORK/nightly.log") || fail "vssimg.exe did not log its summary"
pass "a real night with the Windows build: backup, forget --prune, verify 1/7; exit 0; both logs in one file"

VSSIMG_STORE=$(winpath "$WORK/no-store") run_batch 10
grep -q "store not found" "$WORK/out" || fail "missing store not explained"
VSSIMG_KEEP="--keep-within 3w" run_batch 2
grep -q "forget exit code 2: usage error" "$WORK/out" || fail "bad retention flag not explained"
pack=$(find "$WORK/store/packs" -name '*.pack' | head -1)
# Flip every bit of one byte (writing a constant would be no change 1 time in 256).
byte=$(od -An -tu1 -j70000 -N1 "$pack" | tr -d ' ')
printf "\\$(printf '%03o' $((byte ^ 255)))" | dd of="$pack" bs=1 seek=70000 conv=notrunc status=none
VSSIMG_VERIFY_SLICES=1 run_batch 12
grep -q "verify exit code 12: DAMAGE" "$WORK/out" || fail "damage not explained"
pass "with the Windows build: missing store 10, bad --keep-within 2, damaged pack 12"
echo "$TESTS_RUN passed, 0 failed ($SKIPPED skipped)"
