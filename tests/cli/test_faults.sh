#!/usr/bin/env bash
# Full disk and I/O errors on the store (fault seam VSSIMG_FAULT in core/os/file_posix.cpp):
# the n-th write, fsync or rename of a backup fails with ENOSPC (and every later one:
# a full disk stays full) or EIO (once), for every n the backup reaches. Each failure:
# exit 1 with one error line naming the operation, the file and the cause; no lock info
# left behind; no new point unless it is whole; the store verifies; the
# next backup succeeds and cleans tmp/. A failing backup beside another host's leaves that
# one whole. At the end every point restores byte-identical.
source "$(dirname "$0")/../fault/lib.sh"
source "$(dirname "$0")/lib.sh" "$1"
export VSSIMG_TEST_PACK_SIZE=256K
S="--store $WORK/store"

head -c 3M /dev/urandom > src.img
head -c 12345 /dev/urandom >> src.img   # a short last block
expect_exit 0 $VSSIMG $S init --block-size 64K
expect_exit 0 $VSSIMG $S backup src.img
first=$(points store)
cp src.img "img.$first"
pass "baseline point $first"

faults=0 whole_after_failure=0 seed=1
for op in write fsync rename; do
  for ((n = 1; ; n++)); do
    if (( n % 2 )); then action="$n+:ENOSPC" cause="no space left on device"
    else action="$n:EIO" cause="input/output error"; fi
    seed=$((seed + 1))
    mutate src.img $seed
    # 1 MiB of new data each time, so every backup writes several packs.
    head -c 1M /dev/urandom | dd of=src.img bs=64K seek=$((seed % 40)) conv=notrunc status=none
    before=$(points store)
    set +e
    VSSIMG_FAULT="$op:$action" $VSSIMG $S backup src.img >out 2>err
    rc=$?
    set -e
    if [ $rc = 0 ]; then
      # n is past the last $op of a backup: the fault was never reached.
      p=$(comm -13 <(echo "$before") <(points store))
      cp src.img "img.$p"
      pass "$op: a backup does $((n - 1)) ${op}s; all of them failed once above; this run passed"
      break
    fi
    faults=$((faults + 1))
    [ $rc = 1 ] || { cat err; fail "$op:$action: exit $rc, expected 1"; }
    case $op in
      write) verb="writing" ;; fsync) verb="flushing" ;; rename) verb="renaming" ;;
    esac
    expect_one_line_error "$verb .*: $cause"
    ls store/locks/*.info >/dev/null 2>&1 && fail "$op:$action: lock info file left behind"
    after=$(points store)
    if [ "$after" != "$before" ]; then
      # Only possible when the point was renamed into place and flushing the directory
      # then failed: the point is whole (it was flushed before the rename).
      [ "$op" = fsync ] || fail "$op:$action: a point appeared although the backup failed"
      p=$(comm -13 <(echo "$before") <(echo "$after"))
      restores_identical store "$p" src.img
      cp src.img "img.$p"
      whole_after_failure=$((whole_after_failure + 1))
    fi
    # Structure of the whole store, data of the newest earlier point (all data at the end).
    expect_exit 0 $VSSIMG $S verify
    expect_exit 0 $VSSIMG $S verify "$(echo "$before" | tail -1)" --read-data
    expect_exit 0 $VSSIMG $S backup src.img
    tmp_empty store || fail "$op:$action: tmp/ not cleaned by the next backup"
    p=$(comm -13 <(printf "%s\n" $before $after | sort -u) <(points store))
    [ -n "$p" ] || fail "$op:$action: the next backup made no point"
    cp src.img "img.$p"
    restores_identical store "$p" src.img
    pass "$op:$action: exit 1 '$verb ...: $cause'; store verifies; next backup ok and restores"
  done
done

# A full disk under restore: the target is not left half-written.
expect_exit 1 env VSSIMG_FAULT="write:1+:ENOSPC:full.img" $VSSIMG $S restore "$first" full.img
expect_one_line_error "writing .*full.img: no space left on device"
[ -e full.img ] && fail "restore left a partial target behind"
pass "restore onto a full disk: exit 1 naming the target; no partial file left"

# A write past the page cache (O_DIRECT) that fails once: the restore goes on through
# the page cache and is whole.
expect_exit 0 env VSSIMG_FAULT="write:1:EIO:direct.img" $VSSIMG $S restore "$first" direct.img
cmp -s direct.img "img.$first" || fail "restore after a failed unbuffered write differs"
pass "a failed unbuffered write: the restore continues buffered and is byte-identical"

# Bad sectors on the source (VSSIMG_FAULT_READ fails every read covering an offset):
# retried, then the backup fails naming the offset, or with --ignore-bad-sectors the
# blocks are recorded as unreadable, their offsets reported, exit 3.
mutate src.img 500
bad1=$((5 * 65536 + 100)) bad2=$((9 * 65536 + 4095))
before=$(points store)
expect_exit 1 env VSSIMG_FAULT_READ="src.img:$bad1:$bad2" $VSSIMG $S backup src.img
expect_one_line_error "reading $WORK/src.img at offset $((5 * 65536)): input/output error (after 3 attempts"
[ "$before" = "$(points store)" ] || fail "a failed backup left a point"
pass "bad sectors without --ignore-bad-sectors: exit 1 naming offset $((5 * 65536))"
expect_exit 3 env VSSIMG_FAULT_READ="src.img:$bad1:$bad2" $VSSIMG $S backup src.img --ignore-bad-sectors
grep -q "offset $((5 * 65536)): .*recorded as unreadable" err || { cat err; fail "offset $((5 * 65536)) not reported"; }
grep -q "offset $((9 * 65536)): .*recorded as unreadable" err || { cat err; fail "offset $((9 * 65536)) not reported"; }
grep -q "unreadable 128.0 KiB in 2 blocks" out || { cat out; fail "summary does not count the unreadable blocks"; }
p=$(comm -13 <(echo "$before") <(points store))
pass "bad sectors with --ignore-bad-sectors: exit 3, offsets $((5 * 65536)) and $((9 * 65536)) reported"
expect_exit 0 $VSSIMG $S verify "$p" --read-data
grep -q "2 block(s) that were unreadable" err || { cat err; fail "verify does not note the unreadable blocks"; }
expect_exit 3 $VSSIMG $S restore "$p" bad.img
cp src.img expect.img
dd if=/dev/zero of=expect.img bs=64K seek=5 count=1 conv=notrunc status=none
dd if=/dev/zero of=expect.img bs=64K seek=9 count=1 conv=notrunc status=none
cmp -s bad.img expect.img || fail "restore of a point with unreadable blocks differs from the source with those blocks zeroed"
cp expect.img "img.$p"
expect_exit 0 $VSSIMG $S backup src.img
p=$(grep -o 'point [0-9a-f]\{16\}' out | head -1 | cut -d' ' -f2)
cp src.img "img.$p"
pass "the point verifies (noting 2 unreadable blocks), restores them as zeros (exit 3); the next backup reads them"

# Concurrent writers (backups run side by side): a backup of another host is stopped in
# the middle of its commit (its packs renamed, its first index segment still in its tmp/
# folder) while a backup that meets a full disk fails beside it. The failing one exits 1
# and leaves the other's files alone; the other goes on and commits a whole point.
head -c 2M /dev/urandom >other.img
VSSIMG_FAULT="rename:1:STOP:.idx." $VSSIMG $S backup other.img --host other >o.out 2>o.err &
o=$!
wait_stopped $o
mutate src.img 700
head -c 1M /dev/urandom | dd of=src.img bs=64K seek=7 conv=notrunc status=none
before=$(points store)
set +e
VSSIMG_FAULT="write:2+:ENOSPC" $VSSIMG $S backup src.img >out 2>err
rc=$?
set -e
[ $rc = 1 ] || { cat err; kill -CONT $o; fail "a full disk beside another backup: exit $rc, expected 1"; }
expect_one_line_error "writing .*: no space left on device"
[ "$before" = "$(points store)" ] || { kill -CONT $o; fail "the failed backup left a point"; }
kill -CONT $o
set +e; wait $o; orc=$?; set -e
[ $orc = 0 ] || { cat o.err; fail "the other host's backup failed after the full disk beside it (exit $orc)"; }
p=$(point_of o.out)
cp other.img "img.$p"
restores_identical store "$p" other.img
pass "a full disk beside another host's backup: exit 1; the other backup commits a whole point"

expect_exit 0 $VSSIMG $S verify --read-data
for p in $(points store); do restores_identical store "$p" "img.$p"; done
pass "after $faults injected faults: all $(points store | wc -l) points verify and restore byte-identical ($whole_after_failure whole point(s) after a failed directory flush)"
echo "$TESTS_RUN passed, 0 failed"
