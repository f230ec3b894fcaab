#!/usr/bin/env bash
# Readers take any intact copy: with bytes flipped in one copy of blocks that have two
# (healed blocks, the damaged copy tried first and not yet in the damage record), export,
# extract, ls and mount give back the point's data unchanged, say so in one warning that
# names a block and the copy used, count the blocks in the JSON summary
# (copies_fallen_back) and add the damaged copies to the damage record: verify names
# them without --read-data and prune drops them. With every copy of a block damaged they
# exit 12 naming the point and the volume offset.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh" "$1"
export VSSIMG_TEST_PACK_SIZE=256K
for tool in qemu-img mkfs.ext4; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps installs it)"
done
S="--store $WORK/store"
MiB=1048576

# flip_first_records PACK...: xors a payload byte of the first record of each pack (the
# pack header is 32 bytes, a record header 48).
flip_first_records() {
  python3 - "$@" <<'PY'
import sys
for p in sys.argv[1:]:
    b = bytearray(open(p, 'rb').read())
    b[32 + 48 + 1] ^= 0x5a
    open(p, 'wb').write(b)
PY
}
# one_fallback_warning FILE: FILE (JSON Lines) has exactly one warning about copies, and
# it names a block and the copy that was used.
one_fallback_warning() {
  local n
  n=$(grep '"type":"warning"' "$1" | grep -c "another copy" || true)
  [ "$n" = 1 ] || { cat "$1"; fail "$2: $n warnings about other copies, not one"; }
  grep '"type":"warning"' "$1" | grep "another copy" |
    grep -q "block [0-9a-f]\{32\}: .*read from the copy in pack [0-9a-f]\{32\} at offset [0-9]" ||
    { cat "$1"; fail "$2: the warning does not name the block and the copy used"; }
}
# recorded NAME: the damage the reader met is in the record: verify (no --read-data)
# names the damaged copies; prune drops them (and, reading the copies of blocks stored
# twice, those the reader did not meet), then even --read-data finds nothing.
recorded() {
  [ "$(damage_objects)" -ge 1 ] || fail "$1: nothing added to the damage record"
  expect_exit 0 $VSSIMG $S verify
  cat out err >verify.txt
  grep -q "have a damaged copy and an intact one.*damage record" verify.txt || { cat verify.txt; fail "$1: verify does not see the recorded damage"; }
  expect_exit 0 $VSSIMG $S prune
  expect_exit 0 $VSSIMG $S verify --read-data
  cat out err >verify.txt
  grep -q "damaged copy" verify.txt && { cat verify.txt; fail "$1: prune kept the damaged copies"; }
  [ "$(damage_objects)" = 0 ] || fail "$1: prune kept damage entries that no longer apply"
}
reset_store() { rm -rf store && cp -a "$1" store; }

mkdir tree
make_tree tree 6
make_ext4 ext.img 32 tree
expect_exit 0 $VSSIMG $S init --block-size 64K
expect_exit 0 $VSSIMG $S backup ext.img
p1=$(point_of out)
expect_exit 0 $VSSIMG $S restore "$p1" ext.restored
cmp ext.img ext.restored || fail "the point does not restore"
expect_exit 0 $VSSIMG $S ls -r "$p1" /
cp out ls.expected

# Two intact copies of every block that begins a pack: damage them, verify records it,
# the next backup stores them again (in new packs); then the old packs are put back
# intact and the record removed.
old_packs=$(ls store/packs/*/*.pack)
cp -a store/packs packs.orig
flip_first_records $old_packs
expect_exit 12 $VSSIMG $S verify --read-data
expect_exit 0 $VSSIMG $S --json backup ext.img
[ "$(json_field out healed_blocks)" -gt 0 ] || { cat out; fail "the backup healed nothing"; }
new_packs=$(ls store/packs/*/*.pack | grep -vxF "$old_packs")
[ -n "$new_packs" ] || fail "the healing backup wrote no pack"
for p in $old_packs; do cp "packs.orig/${p#store/packs/}" "$p"; done
rm -f store/damage-*.state
expect_exit 0 $VSSIMG $S verify --read-data
grep -q "damaged copy" out err && { cat out err; fail "setup: the two copies are not intact"; }
pass "setup: blocks with two intact copies (a healed store)"

# Which copy a reader tries first follows the order of the index segments: a restore
# tells. The copies in the packs flipped now are tried first; the record is removed again.
flip_first_records $old_packs
flipped=$old_packs
rc=0
$VSSIMG $S --json restore "$p1" probe.img >out 2>err || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 3 ] || { cat out err; fail "setup: the probing restore exit $rc"; }
if [ "$(json_field out copies_fallen_back)" = 0 ]; then
  for p in $old_packs; do cp "packs.orig/${p#store/packs/}" "$p"; done
  flip_first_records $new_packs
  flipped=$new_packs
fi
rm -f store/damage-*.state probe.img
expect_exit 0 $VSSIMG $S verify
grep -q "damaged copy" out err && { cat out err; fail "setup: the record was not removed"; }
cp -a store twocopies
pass "setup: the copy tried first of blocks with two copies is damaged, not yet recorded"

# export: qemu-img check clean, the partition equals restore's output.
expect_exit 3 $VSSIMG $S --json export "$p1" e.vhdx
[ "$(json_field out copies_fallen_back)" -gt 0 ] || { cat out; fail "export: copies_fallen_back not counted"; }
one_fallback_warning out export
python3 "$HERE/check_json.py" "$HERE/../../docs/json.md" export 3 out ||
  fail "export's JSON output does not match docs/json.md"
qemu-img check -f vhdx e.vhdx >qcheck.txt 2>&1 && grep -q "No errors were found" qcheck.txt ||
  { cat qcheck.txt; fail "export: qemu-img check"; }
qemu-img convert -f vhdx -O raw e.vhdx disk.raw || fail "qemu-img convert"
cmp -n "$(stat -c %s ext.restored)" ext.restored <(tail -c +$((MiB + 1)) disk.raw) ||
  fail "export: the partition differs from restore"
rm -f disk.raw e.vhdx
recorded export
pass "export: the intact copies are used, one warning, copies_fallen_back, qemu-img check clean, recorded"

# extract: every file equals the tree the image was made of.
reset_store twocopies
expect_exit 3 $VSSIMG $S --json extract "$p1" / --target x
[ "$(json_field out copies_fallen_back)" -gt 0 ] || { cat out; fail "extract: copies_fallen_back not counted"; }
one_fallback_warning out extract
python3 "$HERE/check_json.py" "$HERE/../../docs/json.md" extract 3 out ||
  fail "extract's JSON output does not match docs/json.md"
diff -r --exclude=lost+found tree x >/dev/null || fail "extract: the files differ from the tree"
recorded extract
pass "extract: files equal, one warning, copies_fallen_back, recorded"

# ls: the same listing as before the damage.
reset_store twocopies
expect_exit 3 $VSSIMG $S ls -r "$p1" /
cmp -s out ls.expected || { diff out ls.expected; fail "ls: the listing differs"; }
grep -c "another copy" err | grep -qx 1 || { cat err; fail "ls: not one warning about other copies"; }
reset_store twocopies  # the first run recorded the damage: no fallback any more
expect_exit 3 $VSSIMG $S --json ls "$p1" /
[ "$(json_field out copies_fallen_back)" -gt 0 ] || { cat out; fail "ls: copies_fallen_back not counted"; }
recorded ls
pass "ls: the same listing, one warning, copies_fallen_back, recorded; prune keeps the intact copies of blocks ls did not read"

# No intact copy left (the other copies flipped too): exit 12 naming the point and a
# volume offset (export's workers read in parallel: which damaged block fails first, offset
# 0 or a later one, depends on timing).
reset_store twocopies
flip_first_records $(ls store/packs/*/*.pack | grep -vxF "$flipped")
for cmd in "export $p1 none.vhdx" "extract $p1 / --target y" "ls $p1 /"; do
  expect_exit 12 $VSSIMG $S $cmd
  expect_one_line_error "point $p1 at volume offset [0-9][0-9]*: "
done
[ ! -e none.vhdx ] || fail "a failed export left its file"
[ "$(damage_objects)" -ge 1 ] || fail "no copy: the damage met is not recorded"
pass "every copy damaged: export, extract and ls exit 12 naming the point and the offset"

# mount: volume.img equals restore's output; the warning and the record come at unmount.
skip_mount() { echo "SKIP (mount): $*"; echo "$TESTS_RUN passed, 0 failed"; exit 0; }
[ -e /dev/fuse ] || skip_mount "/dev/fuse is missing: no FUSE in this kernel or container"
command -v fusermount3 >/dev/null || skip_mount "fusermount3 is not installed (Debian package fuse3)"
# mount_and_read NAME: mounts p1 on mnt, compares volume.img with restore's output (sets
# $same), unmounts; sets $rc to the mount's exit code.
mount_and_read() {
  mkdir -p mnt
  $VSSIMG $S --json mount "$p1" mnt >mount.out 2>mount.err &
  local pid=$! i
  for i in $(seq 1200); do
    [ -f mnt/volume.img ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ ! -f mnt/volume.img ]; then
    kill "$pid" 2>/dev/null || true
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 1 ] && grep -q "mounting on mnt" mount.err && skip_mount "FUSE cannot mount here: $(cat mount.err)"
    fail "$1: mount did not appear: $(cat mount.err)"
  fi
  same=0
  cmp -s mnt/volume.img ext.restored && same=1
  fusermount3 -u mnt
  rc=0
  wait "$pid" || rc=$?
}
reset_store twocopies
mount_and_read mount
[ "$same" = 1 ] || fail "mount: volume.img differs from restore's output"
[ "$rc" = 3 ] || { cat mount.out mount.err; fail "mount: exit $rc after fallbacks, not 3"; }
one_fallback_warning mount.out mount
[ "$(json_field mount.out copies_fallen_back)" -gt 0 ] || { cat mount.out; fail "mount: copies_fallen_back not counted"; }
recorded mount
pass "mount: volume.img equal, one warning and the record at unmount, exit 3"

reset_store twocopies
flip_first_records $(ls store/packs/*/*.pack | grep -vxF "$flipped")
mount_and_read "mount, no copy"
[ "$same" = 0 ] || fail "mount: a block with no intact copy was served"
[ "$rc" = 12 ] || { cat mount.out mount.err; fail "mount: exit $rc with damage, not 12"; }
grep -q "point $p1 at volume offset 0" mount.out || { cat mount.out; fail "mount: the offset is not named"; }
pass "mount, every copy damaged: EIO, exit 12 naming the point and the offset"
echo "$TESTS_RUN passed, 0 failed"
