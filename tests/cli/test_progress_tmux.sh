#!/usr/bin/env bash
# The progress bar on a real terminal (tmux at 80 and 130 columns): it fits the width,
# leaves no line behind, and an interruption's error starts on a clean line. Not timing
# dependent: the progress clock is a test seam that steps at every reading (every update
# is drawn), the process stops itself at a pack write (VSSIMG_FAULT STOP) to be looked at,
# and the screen is inspected only once the process is stopped or has ended.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh" "$1"
command -v tmux >/dev/null || { echo "skip - tmux is not installed"; exit 0; }
export TMUX_TMPDIR=$WORK
RUN=0
tm() { tmux -L "vssimg$RUN" "$@"; }  # one tmux server per run: no reuse, no races
trap 'for n in 1 2 3 4; do tmux -L "vssimg$n" kill-server 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

head -c 48M /dev/urandom > src.img

# run_in_tmux WIDTH ENV...: runs a backup with a bar in a WIDTH-column tmux pane; its
# pid in $WORK/pid, its exit code in $WORK/rc once it ends.
run_in_tmux() {
  local width=$1; shift
  rm -f "$WORK/pid" "$WORK/rc"
  S="--store $WORK/store$RUN"  # a new store each time: every run writes packs
  expect_exit 0 $VSSIMG $S init
  cat > "$WORK/run.sh" <<SH
cd "$WORK"
env $* VSSIMG_TEST_PROGRESS_STEP=1 VSSIMG_TEST_PACK_SIZE=1M sh -c 'echo \$\$ > "$WORK/pid"; exec "$VSSIMG" $S --progress always backup src.img'
echo \$? > "$WORK/rc.tmp"; mv "$WORK/rc.tmp" "$WORK/rc"
exec sleep 600
SH
  tm kill-server 2>/dev/null || true
  RUN=$((RUN + 1))
  tm new-session -d -x "$width" -y 40 "sh $WORK/run.sh"
  for _ in $(seq 1200); do [ -s "$WORK/pid" ] && return 0; sleep 0.1; done
  fail "the backup did not start in tmux"
}
wait_for() {  # wait_for CONDITION: a bounded wait for a state, never a timed assertion
  for _ in $(seq 3000); do eval "$1" && return 0; sleep 0.1; done
  fail "waited in vain for: $1"
}
screen() { tm capture-pane -p | sed -e 's/[[:space:]]*$//' -e '/^$/d'; }
longest() { screen | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }'; }

for width in 80 130; do
  run_in_tmux "$width"
  wait_for '[ -s "$WORK/rc" ]'
  [ "$(cat "$WORK/rc")" = 0 ] || { screen; fail "backup at $width columns: exit $(cat "$WORK/rc")"; }
  if grep -Eq "ETA|backup \[|[0-9]\.[0-9]%" < <(screen); then screen; fail "a progress line was left behind at $width columns"; fi
  [ "$(longest)" -lt "$width" ] || { screen; fail "a line reached column $width"; }
  pass "$width columns: the finished backup leaves no bar line behind"

  run_in_tmux "$width" VSSIMG_FAULT=rename:20:STOP:.pack.
  wait_for 'grep -q "^State:.*T" /proc/$(cat "$WORK/pid")/status 2>/dev/null || [ -s "$WORK/rc" ]'
  [ ! -s "$WORK/rc" ] || { screen; fail "the backup ended before the fault stopped it"; }
  bar=$(screen | grep "ETA" || true)
  [ -n "$bar" ] || { screen; fail "no bar on the screen while the backup runs"; }
  [ "$(echo "$bar" | wc -l)" = 1 ] || { screen; fail "the bar wrapped or left lines at $width columns"; }
  [ "${#bar}" -lt "$width" ] || { screen; fail "the bar is ${#bar} characters at $width columns"; }
  if [ "$width" -gt 100 ]; then
    [ "${#bar}" -gt 80 ] || { screen; fail "the bar does not use the wider console (${#bar} chars)"; }
  fi
  kill -INT "$(cat "$WORK/pid")"
  kill -CONT "$(cat "$WORK/pid")"
  wait_for '[ -s "$WORK/rc" ]'
  [ "$(cat "$WORK/rc")" = 130 ] || { screen; fail "interrupted backup: exit $(cat "$WORK/rc")"; }
  grep -q "^vssimg: error: .*interrupted" < <(screen) || { screen; fail "the error does not start a clean line"; }
  if grep -Eq "ETA|backup \[|[0-9]\.[0-9]%" < <(screen); then screen; fail "the bar stayed beside the error"; fi
  pass "$width columns: the bar fits, and Ctrl+C's error starts on a clean line"
done
