# Shared helpers for the CLI tests. Each test script: `source lib.sh "$1"` (the binary).
set -euo pipefail
VSSIMG=${1:?usage: test_x.sh path/to/vssimg}
VSSIMG=$(readlink -f "$VSSIMG")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vssimg-cli.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
export PATH=$PATH:/sbin:/usr/sbin
export VSSIMG_STORE=
TESTS_RUN=0

# VSSIMG_TEST_ENCRYPT=1 (tests/CMakeLists.txt: the *_encrypted tests): every store a test
# makes is encrypted. $VSSIMG becomes a wrapper adding `--encrypt` (with a cheap Argon2id:
# these suites test the store, not the key derivation) to `init`; the password comes from
# VSSIMG_PASSWORD_FILE. ENCRYPTED=1 lets a test expect the causes an encrypted store gives.
ENCRYPTED=0
if [ "${VSSIMG_TEST_ENCRYPT:-0}" = 1 ]; then
  ENCRYPTED=1
  echo "the suite's password" >"$WORK/.password"
  export VSSIMG_PASSWORD_FILE=$WORK/.password
  cat >"$WORK/.vssimg-encrypted" <<WRAPPER
#!/usr/bin/env bash
args=()
for a in "\$@"; do
  args+=("\$a")
  [ "\$a" = init ] && args+=(--encrypt --kdf-memory 8K --kdf-passes 1)
done
exec "$VSSIMG" "\${args[@]}"
WRAPPER
  chmod +x "$WORK/.vssimg-encrypted"
  VSSIMG=$WORK/.vssimg-encrypted
fi

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { TESTS_RUN=$((TESTS_RUN + 1)); echo "ok $TESTS_RUN - $*"; }

# expect_exit CODE CMD...: runs CMD, checks its exit code; stdout/stderr in $WORK/out, $WORK/err.
expect_exit() {
  local want=$1; shift
  set +e
  "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  set -e
  if [ "$got" != "$want" ]; then
    echo "--- stdout"; cat "$WORK/out"; echo "--- stderr"; cat "$WORK/err"
    fail "expected exit $want, got $got: $*"
  fi
}

# expect_one_line_error PATTERN: stderr of the last expect_exit is one error line matching PATTERN.
expect_one_line_error() {
  local lines
  lines=$(grep -c 'error' "$WORK/err" || true)
  [ "$lines" = 1 ] || { cat "$WORK/err"; fail "expected one error line, got $lines"; }
  grep -q -- "$1" "$WORK/err" || { cat "$WORK/err"; fail "error does not mention '$1'"; }
}

# store_fingerprint DIR: names, sizes and checksums of every file (to prove no change).
store_fingerprint() {
  (cd "$1" && find . -type f ! -path './locks/*' -print0 | sort -z | xargs -0 -r sha1sum)
}

# make_tree DIR MB: generated files occupying MB megabytes (scripts/gen-files: the same
# bytes on every machine, whatever it has installed).
make_tree() {
  "$(dirname "${BASH_SOURCE[0]}")/../../scripts/gen-files" "$1" "$2" >/dev/null || fail "gen-files failed"
}

# make_ext4 IMG SIZE_MB TREE: an ext4 image of SIZE_MB holding TREE.
make_ext4() {
  mkfs.ext4 -q -F -E root_owner=0:0 -d "$3" "$1" "$2M" >/dev/null 2>&1 || fail "mkfs.ext4 failed"
}

# hold_lock FILE: another process holds FILE's lock (shared) until release_lock. Returns
# once the lock is held (a bounded wait, not a timed one: load cannot fail it).
hold_lock() {
  rm -f "$WORK/.held"
  flock -o -s "$1" sh -c "echo \$\$ >'$WORK/.held.tmp'; mv '$WORK/.held.tmp' '$WORK/.held'; exec sleep 600" &
  holder=$!
  for _ in $(seq 1200); do
    [ -e "$WORK/.held" ] && return 0
    sleep 0.1
  done
  fail "could not take the lock of $1"
}
release_lock() {
  kill "$(cat "$WORK/.held")" 2>/dev/null || true
  kill "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true
}

store_bytes() { du -sb "$1" | cut -f1; }

# point_of FILE: the first point id FILE names ("point <16 hex>").
point_of() { grep -o 'point [0-9a-f]\{16\}' "$1" | head -1 | cut -d' ' -f2; }
damage_objects() { ls store 2>/dev/null | grep -c '^damage-.*\.state$' || true; }
json_field() {  # json_field FILE KEY: the value of KEY in the summary record
  python3 - "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") == "summary":
        print(json.dumps(r[sys.argv[2]]))
PY
}
# wait_stopped PID: until the process is stopped (state T). Bounded, not timed: fails
# only if the process exits instead or never stops within a minute.
wait_stopped() {
  for _ in $(seq 600); do
    [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
    kill -0 "$1" 2>/dev/null || fail "process $1 exited instead of stopping"
    sleep 0.1
  done
  fail "process $1 did not stop"
}
flip() {  # flip FILE OFFSET: xor one byte
  python3 - "$1" "$2" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, 'rb').read())
b[off] ^= 0x5a
open(p, 'wb').write(b)
PY
}
