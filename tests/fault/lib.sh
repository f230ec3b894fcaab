# Helpers for the reliability tests (test_kill, test_faults, test_concurrency,
# test_damage_matrix). Source after tests/cli/lib.sh. The fault seam itself lives in
# core/os/file_posix.cpp: VSSIMG_FAULT=OP:N[+]:ACTION and VSSIMG_FAULT_READ=NAME:OFFSET...
# (see the comment there); VSSIMG_TEST_PACK_SIZE makes packs small.

# mutate IMG SEED: changes the image the way a live volume changes: rewrites a run of
# 64 KiB blocks with new data, zeroes another run, copies a third (data that moved).
mutate() {
  python3 - "$1" "$2" <<'PY'
import os, random, sys
path, seed = sys.argv[1], int(sys.argv[2])
r = random.Random(seed)
B = 65536
size = os.path.getsize(path)
n = size // B
with open(path, 'r+b') as f:
    a, k = r.randrange(n), r.randint(1, 8)
    f.seek(a * B); f.write(r.randbytes(min(k, n - a) * B))
    a, k = r.randrange(n), r.randint(1, 3)
    f.seek(a * B); f.write(bytes(min(k, n - a) * B))
    a, b = r.randrange(n), r.randrange(n)
    f.seek(a * B); blk = f.read(B); f.seek(b * B); f.write(blk)
    # A sub-block change: the last block may be short, and changes need not be aligned.
    off = r.randrange(size - 100)
    f.seek(off); f.write(r.randbytes(100))
PY
}

# points STORE: committed point ids, sorted.
points() { ls "$1/points" 2>/dev/null | sed -n 's/\.point$//p' | sort; }

# restores_identical STORE ID IMG: restore point ID and compare it with IMG byte for byte.
restores_identical() {
  rm -f "$WORK/restored.img"
  local rc=0
  "$VSSIMG" --store "$1" restore "$2" "$WORK/restored.img" >"$WORK/rout" 2>"$WORK/rerr" || rc=$?
  # Exit 3 only for a point with blocks that were unreadable at backup time.
  if [ $rc != 0 ] && ! { [ $rc = 3 ] && grep -q "unreadable at backup time" "$WORK/rerr"; }; then
    cat "$WORK/rerr"; fail "restore of point $2 failed (exit $rc)"
  fi
  cmp -s "$WORK/restored.img" "$3" || fail "point $2 does not restore byte-identical to $3"
  rm -f "$WORK/restored.img"
}

# tmp_empty STORE: true when STORE/tmp holds nothing.
tmp_empty() { [ -z "$(ls -A "$1/tmp")" ]; }
