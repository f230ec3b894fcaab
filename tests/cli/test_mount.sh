#!/usr/bin/env bash
# vssimg mount: a point served as DIR/volume.img through FUSE. The file equals restore's
# output (whole and at random offsets), e2fsck reads it in place, it cannot be written;
# the store's lock is held shared while mounted (prune refused with 11, verify runs);
# `fusermount3 -u` and Ctrl+C end it with exit 0 and release the lock; a missing
# directory is exit 2. Skipped, saying why, without /dev/fuse or where FUSE cannot mount
# (containers). Every wait is on a condition with a generous bound, never a fixed sleep.
source "$(dirname "$0")/lib.sh" "$1"

skip() {
  echo "SKIP: $*"
  exit 0
}
[ -e /dev/fuse ] || skip "/dev/fuse is missing: no FUSE in this kernel or container"
command -v fusermount3 >/dev/null || skip "fusermount3 is not installed (Debian package fuse3)"

mkdir tree
make_tree tree 6
make_ext4 src.img 48 tree
export VSSIMG_STORE=$WORK/store
"$VSSIMG" init --block-size 64K >/dev/null
"$VSSIMG" backup src.img >/dev/null
"$VSSIMG" restore latest restored.img >/dev/null

expect_exit 2 "$VSSIMG" mount latest "$WORK/missing"
expect_one_line_error "no such directory"
: >afile
expect_exit 2 "$VSSIMG" mount latest afile
expect_one_line_error "not a directory"
mkdir mnt
expect_exit 2 "$VSSIMG" mount nosuchpoint mnt
pass "a missing or non-directory mount point and an unknown point are exit 2"

# start_mount: mounts latest on mnt in the background ($pid); returns once volume.img is
# there. Skips the test when FUSE cannot mount here (exit 1, "mounting on mnt: ...").
start_mount() {
  "$VSSIMG" mount latest mnt >mount.out 2>mount.err &
  pid=$!
  for _ in $(seq 1200); do
    [ -f mnt/volume.img ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  local rc=0
  kill -0 "$pid" 2>/dev/null && { kill "$pid"; fail "mount did not appear in 120 s: $(cat mount.err)"; }
  wait "$pid" || rc=$?
  if [ "$rc" = 1 ] && grep -q "mounting on mnt" mount.err; then
    skip "FUSE cannot mount here: $(grep 'mounting on' mount.err)"
  fi
  fail "mount exited with $rc before mounting: $(cat mount.err)"
}

# wait_exit PID: sets $rc to its exit code, waiting at most 120 s for it to end.
wait_exit() {
  for _ in $(seq 1200); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$1" 2>/dev/null && fail "mount process $1 did not end within 120 s"
  rc=0
  wait "$1" || rc=$?
}

start_mount
[ "$(ls mnt)" = "volume.img" ] || fail "mnt holds $(ls mnt), not volume.img alone"
[ "$(stat -c %s mnt/volume.img)" = "$(stat -c %s src.img)" ] || fail "volume.img has the wrong size"
cmp mnt/volume.img restored.img || fail "volume.img differs from restore's output"
size=$(stat -c %s src.img)
for i in $(seq 40); do
  off=$(( (RANDOM * 32768 + RANDOM) % size ))
  len=$(( RANDOM % 200000 + 1 ))
  a=$(dd if=mnt/volume.img iflag=skip_bytes,count_bytes skip=$off count=$len status=none | sha1sum)
  b=$(dd if=restored.img iflag=skip_bytes,count_bytes skip=$off count=$len status=none | sha1sum)
  [ "$a" = "$b" ] || fail "read of $len bytes at $off differs"
done
pass "volume.img equals restore's output, whole and at 40 random offsets"

e2fsck -fn mnt/volume.img >/dev/null 2>&1 || fail "e2fsck -fn of the mounted image failed"
if (echo x >>mnt/volume.img) 2>/dev/null; then fail "volume.img was writable"; fi
pass "e2fsck reads the image in place; it cannot be written"

expect_exit 11 "$VSSIMG" --lock-wait 0 prune
expect_exit 0 "$VSSIMG" verify
pass "while mounted the store is locked shared: prune refused (11), verify runs"

fusermount3 -u mnt
wait_exit "$pid"
[ "$rc" = 0 ] || fail "mount exited with $rc after fusermount3 -u: $(cat mount.err)"
[ -z "$(ls mnt)" ] || fail "mnt still holds files after the unmount"
expect_exit 0 "$VSSIMG" prune
grep -q "unmounted from mnt" mount.out || fail "no unmount line: $(cat mount.out)"
pass "fusermount3 -u ends it with exit 0 and the lock is released"

for sig in INT TERM; do
  start_mount
  kill -s "$sig" "$pid"
  wait_exit "$pid"
  [ "$rc" = 0 ] || fail "mount exited with $rc after SIG$sig: $(cat mount.err)"
  mountpoint -q mnt && fail "mnt still mounted after SIG$sig"
  expect_exit 0 "$VSSIMG" prune
done
pass "Ctrl+C (SIGINT) and SIGTERM end it with exit 0, unmounted, lock released"
