#!/usr/bin/env bash
# Kill at any moment: backups of a changing image are killed with SIGKILL at chosen
# points (the fault seam raises SIGKILL at the n-th write / fsync / rename of a pack,
# an index segment, a point, a directory or the lock info file) and at random moments
# (kill -9 from outside after a random delay). After every kill: verify --read-data is
# clean, every earlier point restores byte-identical, the next backup succeeds without
# manual steps and removes the killed run's temporary and lock info files. Then three
# backups at once, two of them killed.
source "$(dirname "$0")/../fault/lib.sh"
source "$(dirname "$0")/lib.sh" "$1"
export VSSIMG_TEST_PACK_SIZE=128K
min_kills=${VSSIMG_TEST_MIN_KILLS:-50}   # scripts/test-sanitize lowers it (slow build)
per_store=8                               # trials per fresh store: bounds restore work

# The kill schedule: where the seam kills (OP:N:KILL:MATCH); "timed" = kill -9 from outside.
specs=()
for phase in .idx. .point.; do
  specs+=("write:1:KILL:$phase" "fsync:1:KILL:$phase" "rename:1:KILL:$phase")
done
specs+=("fsync:1:KILL:/index" "fsync:1:KILL:/points" "write:1:KILL:.info")
for n in 1 2 3 4 5 6 7 8 9; do
  specs+=("write:$n:KILL:.pack." "fsync:$n:KILL:.pack." "fsync:$n:KILL:/packs/" "rename:$n:KILL:.pack.")
done
specs+=("write:12:KILL:.pack." "write:16:KILL:.pack." "write:20:KILL:.pack." "write:24:KILL:.pack."
       "fsync:10:KILL:.pack." "rename:10:KILL:.pack.")
for _ in $(seq 8); do specs+=(timed); done
RANDOM=4242   # reproducible delays

head -c 4M /dev/urandom > src.img
head -c 7777 /dev/urandom >> src.img
trial=0 kills=0 store_no=0 tmp_left=0
declare -A phases=()
for spec in "${specs[@]}"; do
  # The sanitizer run stops early; the full run goes through the whole schedule.
  if (( min_kills < 50 && trial >= min_kills && kills >= min_kills )); then break; fi
  if (( trial % per_store == 0 )); then
    [ -n "${st:-}" ] && rm -rf "$st" "$st".img.*   # done with it: keep /tmp small
    store_no=$((store_no + 1))
    st="$WORK/store$store_no"
    expect_exit 0 $VSSIMG --store "$st" init --block-size 64K
    expect_exit 0 $VSSIMG --store "$st" backup src.img
    p=$(points "$st"); cp src.img "$st.img.$p"
  fi
  trial=$((trial + 1))
  mutate src.img $trial
  head -c 1280K /dev/urandom | dd of=src.img bs=64K seek=$((trial % 44)) conv=notrunc status=none
  before=$(points "$st")

  set +e
  if [ "$spec" = timed ]; then
    $VSSIMG --store "$st" backup src.img >out 2>err &
    pid=$!
    sleep "0.$(printf '%03d' $((RANDOM % 200)))"
    kill -9 $pid 2>/dev/null
    wait $pid
    rc=$?
  else
    VSSIMG_FAULT="$spec" $VSSIMG --store "$st" backup src.img >out 2>err &
    pid=$!
    wait $pid
    rc=$?
  fi
  set -e
  if [ $rc = 137 ]; then
    kills=$((kills + 1))
    phase=${spec#*:*:KILL:}
    [ "$spec" = timed ] && phase=timed
    phases[$phase]=$(( ${phases[$phase]:-0} + 1 ))
    tmp_empty "$st" || tmp_left=$((tmp_left + 1))
  elif [ $rc != 0 ]; then
    cat err; fail "trial $trial ($spec): backup exit $rc, neither killed nor successful"
  fi

  # A point is visible only when whole: then it restores to the image it was made from.
  after=$(points "$st")
  for p in $(comm -13 <(echo "$before") <(echo "$after")); do
    restores_identical "$st" "$p" src.img
    cp src.img "$st.img.$p"
  done
  expect_exit 0 $VSSIMG --store "$st" verify --read-data
  for p in $before; do restores_identical "$st" "$p" "$st.img.$p"; done

  # The next backup needs no manual step and cleans up after the killed run.
  expect_exit 0 $VSSIMG --store "$st" backup src.img
  tmp_empty "$st" || fail "trial $trial ($spec): tmp/ not cleaned by the next backup"
  [ -e "$st/locks/$(hostname)-$pid.info" ] && fail "trial $trial ($spec): stale lock info of pid $pid left"
  p=$(comm -13 <(echo "$after") <(points "$st"))
  [ -n "$p" ] || fail "trial $trial: the backup after the kill made no point"
  restores_identical "$st" "$p" src.img
  cp src.img "$st.img.$p"
  pass "trial $trial: $spec: $([ $rc = 137 ] && echo killed || echo finished before the kill); verify --read-data clean; $(echo "$before" | wc -w) earlier points restore; next backup ok"
done

# Concurrent writers: three backups of three sources at once, one killed by the seam at a
# pack, index or point, one by kill -9 at a random moment, one left to finish. The others'
# packs, segments and points never suffer: verify is clean, every point restores, and the
# next backup removes the killed writers' tmp/ folders (never a live writer's).
cw="$WORK/cw"
expect_exit 0 $VSSIMG --store "$cw" init --block-size 64K
for n in 1 2 3; do head -c 2M /dev/urandom >"cw$n.img"; done
for spec in "write:3:KILL:.pack." "rename:1:KILL:.idx." "rename:1:KILL:.point." "fsync:5:KILL:.pack."; do
  for n in 1 2 3; do mutate "cw$n.img" $((n + ${#spec})); done
  VSSIMG_FAULT="$spec" $VSSIMG --store "$cw" backup cw1.img >c1.out 2>c1.err & k1=$!
  $VSSIMG --store "$cw" backup cw2.img >c2.out 2>c2.err & k2=$!
  $VSSIMG --store "$cw" backup cw3.img >c3.out 2>c3.err & k3=$!
  sleep "0.$(printf '%03d' $((RANDOM % 300)))"
  kill -9 $k2 2>/dev/null || true
  set +e; wait $k1; r1=$?; wait $k2; r2=$?; wait $k3; r3=$?; set -e
  [ $r1 = 137 ] || [ $r1 = 0 ] || { cat c1.err; fail "concurrent $spec: seam-killed backup exit $r1"; }
  [ $r2 = 137 ] || [ $r2 = 0 ] || { cat c2.err; fail "concurrent $spec: timed-killed backup exit $r2"; }
  [ $r3 = 0 ] || { cat c3.err; fail "concurrent $spec: the backup left alone failed (exit $r3)"; }
  [ $r1 = 137 ] && kills=$((kills + 1))
  [ $r2 = 137 ] && kills=$((kills + 1))
  $VSSIMG --store "$cw" --json list >cw.json
  python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l)
    if r.get("type")=="point": print(r["id"], r["source"])' cw.json | while read -r id src; do
    [ -e "$cw.img.$id" ] || cp "$src" "$cw.img.$id"
  done
  expect_exit 0 $VSSIMG --store "$cw" verify --read-data
  for p in $(points "$cw"); do restores_identical "$cw" "$p" "$cw.img.$p"; done
  expect_exit 0 $VSSIMG --store "$cw" backup cw1.img
  tmp_empty "$cw" || fail "concurrent $spec: tmp/ not cleaned by the next backup: $(ls "$cw/tmp")"
  p=$(grep -o 'point [0-9a-f]\{16\}' out | head -1 | cut -d' ' -f2); cp cw1.img "$cw.img.$p"
  pass "concurrent writers, $spec: exits $r1/$r2/$r3; verify --read-data clean; $(points "$cw" | wc -l) points restore; next backup cleans tmp/"
done

# repair index killed while writing its segments, committing them, or after deleting the
# old ones: the index stays usable (old and new side by side at worst).
for spec in "write:1:KILL:.idx." "rename:1:KILL:.idx." "fsync:1:KILL:/index" "fsync:2:KILL:/index"; do
  set +e; VSSIMG_FAULT="$spec" $VSSIMG --store "$st" repair index >out 2>err; rc=$?; set -e
  [ $rc = 137 ] || { cat err; fail "repair index with $spec: exit $rc, expected to be killed"; }
  kills=$((kills + 1))
  expect_exit 0 $VSSIMG --store "$st" verify --read-data
  for p in $(points "$st"); do restores_identical "$st" "$p" "$st.img.$p"; done
  pass "repair index killed at $spec: verify --read-data clean, every point restores"
done
expect_exit 0 $VSSIMG --store "$st" repair index
expect_exit 0 $VSSIMG --store "$st" verify --read-data

(( kills >= min_kills )) || fail "only $kills kills landed (want >= $min_kills)"
for phase in .pack. /packs/ .idx. /index .point. /points .info; do
  (( ${phases[$phase]:-0} >= 1 )) || fail "no kill landed in phase $phase"
done
pass "$kills kills in $trial trials ($(for k in "${!phases[@]}"; do printf '%s=%s ' "$k" "${phases[$k]}"; done)); $tmp_left left tmp files that the next backup removed"
echo "$TESTS_RUN passed, 0 failed"
