#!/usr/bin/env bash
# export: ext4 and NTFS points as VHDX, checked by independent readers (qemu-img check,
# qemu-img convert, sgdisk -v, vhdiinfo) and compared with restore; `-` to a pipe; an
# existing target (exit 2), a damaged store (exit 12, no file left), a point whose end
# is a hole, and an ext4 volume over 2 TiB (sparse).
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh" "$1"
for tool in qemu-img sgdisk vhdiinfo mkntfs ntfscp mkfs.ext4; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps installs it)"
done
S="--store $WORK/store"
MiB=1048576

# check_vhdx VHDX RESTORED TYPE: the VHDX passes qemu-img check; converted to raw, its
# GPT is valid, its one partition starts at 1 MiB with type TYPE and equals RESTORED.
check_vhdx() {
  local vhdx=$1 restored=$2 type=$3 size
  qemu-img check -f vhdx "$vhdx" >qcheck.txt 2>&1 || { cat qcheck.txt; fail "qemu-img check: $vhdx"; }
  grep -q "No errors were found" qcheck.txt || { cat qcheck.txt; fail "qemu-img check reports problems"; }
  qemu-img convert -f vhdx -O raw "$vhdx" disk.raw || fail "qemu-img convert: $vhdx"
  sgdisk -v disk.raw >sgdisk.txt 2>&1 || { cat sgdisk.txt; fail "sgdisk -v: $vhdx"; }
  grep -q "No problems found" sgdisk.txt || { cat sgdisk.txt; fail "sgdisk -v finds problems"; }
  sgdisk -i 1 disk.raw >part.txt 2>&1
  grep -q "First sector: 2048 " part.txt || { cat part.txt; fail "partition does not start at 1 MiB"; }
  grep -q "$type" part.txt || { cat part.txt; fail "partition type is not $type"; }
  size=$(stat -c %s "$restored")
  cmp -n "$size" "$restored" <(tail -c +$((MiB + 1)) disk.raw) || fail "partition differs from restore"
  vhdiinfo "$vhdx" >vhdi.txt 2>&1 || { cat vhdi.txt; fail "vhdiinfo cannot read $vhdx"; }
  grep -qi "VHDX" vhdi.txt || { cat vhdi.txt; fail "vhdiinfo does not see a VHDX"; }
  rm -f disk.raw
}

expect_exit 0 $VSSIMG $S init

# ext4
make_tree tree 40
make_ext4 ext.img 128 tree
expect_exit 0 $VSSIMG $S backup ext.img
expect_exit 0 $VSSIMG $S restore latest ext.restored
expect_exit 0 $VSSIMG $S export latest ext.vhdx
grep -q "linux-data" out || { cat out; fail "ext4 point not exported as a Linux partition"; }
check_vhdx ext.vhdx ext.restored "Linux filesystem"
pass "ext4 point: qemu-img check clean, GPT valid, partition equals restore, vhdiinfo reads it"

# The same point to standard output, through a pipe, equals the file.
$VSSIMG $S export latest - | cat >pipe.vhdx || fail "export to - failed"
cmp ext.vhdx pipe.vhdx || fail "export to - differs from the file export"
pass "export to - through a pipe equals the file export"

# NTFS (mkntfs + ntfscp)
truncate -s 96M ntfs.img
mkntfs -q -F -f -L vssimg ntfs.img >/dev/null 2>&1 || fail "mkntfs failed"
head -c 5M /dev/urandom >big.bin
ntfscp -f ntfs.img big.bin big.bin >/dev/null 2>&1 || fail "ntfscp failed"
expect_exit 0 $VSSIMG $S backup ntfs.img
expect_exit 0 $VSSIMG $S restore latest ntfs.restored
expect_exit 0 $VSSIMG --json $S export latest ntfs.vhdx
python3 "$HERE/check_json.py" "$HERE/../../docs/json.md" export 0 out ||
  fail "export's JSON output does not match docs/json.md"
grep -q '"partition_type":"basic-data"' out || { cat out; fail "NTFS point not a Basic Data partition"; }
grep -q '"type":"summary"' out || fail "no summary record"
check_vhdx ntfs.vhdx ntfs.restored "Microsoft basic data"
pass "NTFS point: qemu-img check clean, GPT valid, partition equals restore, vhdiinfo reads it"

# An existing target is kept without --force (exit 2); --force replaces it.
before=$(sha1sum ntfs.vhdx)
expect_exit 2 $VSSIMG $S export latest ntfs.vhdx
expect_one_line_error "exists"
[ "$(sha1sum ntfs.vhdx)" = "$before" ] || fail "an existing target was changed"
expect_exit 0 $VSSIMG $S export latest ntfs.vhdx --force
expect_exit 2 $VSSIMG $S export latest x.vhdx --block-size 3M
pass "existing target refused without --force (exit 2), replaced with it; bad --block-size exit 2"

# A point whose end is a hole (zeros), of an odd size, exported with 2 MiB blocks.
{ head -c 3M /dev/urandom; head -c 4M /dev/zero; head -c 4096 /dev/urandom; head -c 5000 /dev/zero; } >hole.img
expect_exit 0 $VSSIMG $S backup hole.img
expect_exit 0 $VSSIMG $S restore latest hole.restored
expect_exit 0 $VSSIMG $S export latest hole.vhdx --block-size 2M
check_vhdx hole.vhdx hole.restored "Microsoft basic data"
pass "a point with a hole at its end and an odd size"

# Over 2 TiB: an ext4 volume of 2.5 TiB that is almost all free (a sparse file; its
# metadata packed into few places by one flex group and two superblock backups).
truncate -s 2560G huge.img
mkfs.ext4 -q -F -O ^has_journal,^resize_inode,sparse_super2 -G 4096 -N 4096 -E lazy_itable_init=1 huge.img >/dev/null 2>&1 ||
  fail "mkfs.ext4 of a 2.5 TiB sparse file failed"
expect_exit 0 $VSSIMG $S backup huge.img
expect_exit 0 $VSSIMG $S export latest huge.vhdx
size=$(stat -c %s huge.vhdx)
[ "$size" -lt $((100 * MiB)) ] || fail "the sparse 2.5 TiB point made a $size-byte VHDX"
qemu-img check -f vhdx huge.vhdx >qcheck.txt 2>&1 || { cat qcheck.txt; fail "qemu-img check: huge.vhdx"; }
vsize=$(qemu-img info --output=json huge.vhdx | python3 -c 'import json, sys; print(json.load(sys.stdin)["virtual-size"])')
[ "$vsize" = $((2560 * 1024 * MiB + 2 * MiB)) ] || fail "virtual size $vsize of the 2.5 TiB disk"
# qemu-img converts only the disk's first 65 MiB and last 1 MiB (a whole 2.5 TiB
# conversion takes minutes), into a sparse raw disk for sgdisk.
qslice() {  # qslice OFFSET SIZE OUT: bytes of the virtual disk, read by qemu's vhdx driver
  qemu-img convert --image-opts "driver=raw,offset=$1,size=$2,file.driver=vhdx,file.file.filename=huge.vhdx" \
    -O raw "$3" || fail "qemu-img convert of a slice of huge.vhdx"
}
qslice 0 $((65 * MiB)) head.raw
qslice $((vsize - MiB)) $MiB tail.raw
truncate -s "$vsize" huge.raw
dd if=head.raw of=huge.raw conv=notrunc status=none
dd if=tail.raw of=huge.raw bs=1M seek=$((vsize / MiB - 1)) conv=notrunc status=none
sgdisk -v huge.raw >sgdisk.txt 2>&1 && grep -q "No problems found" sgdisk.txt || { cat sgdisk.txt; fail "sgdisk -v on the 2.5 TiB disk"; }
cmp -n $((64 * MiB)) huge.img <(tail -c +$((MiB + 1)) head.raw) || fail "the 2.5 TiB partition's start differs"
rm -f huge.raw huge.img head.raw tail.raw
pass "a 2.5 TiB sparse ext4 point: a $size-byte VHDX, qemu-img check clean, GPT valid"

# Damage: a flipped byte in every pack stops the export (exit 12) and leaves no file.
for p in store/packs/*/*.pack; do
  printf '\xff\xfe\xfd' | dd of="$p" bs=1 seek=4096 conv=notrunc status=none
done
expect_exit 12 $VSSIMG $S export latest damaged.vhdx
[ ! -e damaged.vhdx ] || fail "a damaged export left damaged.vhdx behind"
expect_exit 12 sh -c '"$1" --store "$2" export latest - >piped.vhdx' _ "$VSSIMG" "$WORK/store"
pass "damage: exit 12, no partial file (and exit 12 through a pipe)"
echo "$TESTS_RUN passed, 0 failed"
