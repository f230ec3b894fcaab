#!/usr/bin/env bash
# A huge sparse ext4 image (default 1 TiB; VSSIMG_HUGE_SIZE=17592186040320, 16 TiB - 4 KiB, for the full size, as
# scripts/bench-huge runs it): backup, change a file, backup, restore (holes stay holes),
# e2fsck clean and the file equal. Holes of the image are not read and the block maps are
# streamed, so this stays fast and small.
source "$(dirname "$0")/lib.sh" "$1"

size=${VSSIMG_HUGE_SIZE:-1T}
# The filesystem under the work directory must hold a sparse file of that size.
if ! truncate -s "$size" probe.img 2>/dev/null; then
  echo "SKIP: $(df -T . | tail -1 | awk '{print $2}') at $WORK cannot hold a sparse file of $size"
  exit 0
fi
rm -f probe.img

make_tree tree 4
head -c 3M /dev/urandom >file-v1.bin
head -c 5M /dev/urandom >file-v2.bin
cp file-v1.bin tree/data.bin
truncate -s "$size" huge.img
mkfs.ext4 -q -F -T huge -E root_owner=0:0,lazy_itable_init=1,lazy_journal_init=1 -d tree huge.img >/dev/null 2>&1 ||
  fail "mkfs.ext4 of $size failed"
S="--store $WORK/store"
expect_exit 0 $VSSIMG $S init
field() { python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]])" "$WORK/out" "$1"; }

expect_exit 0 $VSSIMG $S --json backup huge.img
p1=$(field point)
read1=$(field bytes_read); holes1=$(field hole_skipped_bytes)
alloc=$(du -B1 huge.img | cut -f1)
[ "$holes1" -gt 0 ] || fail "no holes skipped in a sparse $size image"
# What a reader that skips every hole must read: each 256 KiB block (the default block
# size) holding any allocated byte, read whole: at 16 TiB several times the allocated
# bytes, since mkfs puts a few KiB of metadata in every flex group.
touched=$(python3 - huge.img <<'PY'
import os, sys
bs = 256 * 1024
fd = os.open(sys.argv[1], os.O_RDONLY)
size, pos, blocks, last = os.fstat(fd).st_size, 0, 0, -1
while pos < size:
    try:
        start = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    end = os.lseek(fd, start, os.SEEK_HOLE)
    first, final = start // bs, (end - 1) // bs
    blocks += final - first + 1 - (1 if first == last else 0)
    last, pos = final, end
print(blocks * bs)
PY
)
[ "$read1" -le $((touched + 64 * 1024 * 1024)) ] ||
  fail "read $read1 bytes of an image whose allocated bytes lie in $touched bytes of blocks ($alloc allocated)"
pass "first backup of $size: read $read1 bytes ($alloc allocated, in $touched bytes of blocks), $holes1 bytes of holes not read"

expect_exit 0 $VSSIMG $S --json backup huge.img
[ "$(field new_bytes)" = 0 ] || fail "unchanged backup stored $(field new_bytes) new bytes"
[ "$(field parent)" = "$p1" ] || fail "unchanged backup did not compare with $p1"
pass "unchanged backup stores nothing"

debugfs -w -R "rm /data.bin" huge.img >/dev/null 2>&1 || fail "debugfs rm failed"
debugfs -w -R "write file-v2.bin /data.bin" huge.img >/dev/null 2>&1 || fail "debugfs write failed"
expect_exit 0 $VSSIMG $S --json backup huge.img
p3=$(field point); new3=$(field new_bytes)
[ "$new3" -ge $((5 * 1024 * 1024)) ] || fail "changed backup stored only $new3 bytes"
pass "changed backup stored $new3 new bytes"

expect_exit 0 $VSSIMG $S restore "$p3" restored.img
[ "$(stat -c %s restored.img)" = "$(stat -c %s huge.img)" ] || fail "restored size differs"
ralloc=$(du -B1 restored.img | cut -f1)
# Restore writes every block that is not all zeros whole (zero blocks stay holes).
[ "$ralloc" -le $((touched + 64 * 1024 * 1024)) ] ||
  fail "restore is not sparse ($ralloc allocated; the source's data lies in $touched bytes of blocks)"
e2fsck -fn restored.img >"$WORK/fsck" 2>&1 || { cat "$WORK/fsck"; fail "e2fsck fails on the restored image"; }
debugfs -R "dump /data.bin restored-data.bin" restored.img >/dev/null 2>&1
cmp file-v2.bin restored-data.bin || fail "the changed file differs after restore"
pass "restore is sparse ($ralloc bytes allocated), e2fsck clean, the file equal"
echo "$TESTS_RUN passed, 0 failed"
