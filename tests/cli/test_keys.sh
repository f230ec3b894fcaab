#!/usr/bin/env bash
# `vssimg key ...` and the store password, as far as this build goes: `init --encrypt`
# does not exist yet, so the encrypted store here is a plain one whose config has the
# `encrypted` required feature set by hand (checksum fixed with xxhsum -H3). Every failure
# is one line with a documented exit code, and nothing in the store changes.
source "$(dirname "$0")/lib.sh" "$1"
unset VSSIMG_PASSWORD VSSIMG_PASSWORD_FILE

S="--store $WORK/store"
expect_exit 0 $VSSIMG $S init </dev/null
expect_exit 2 $VSSIMG $S key list
expect_one_line_error "not encrypted"
pass "key list on a plain store: exit 2, says it is not encrypted"

expect_exit 2 $VSSIMG $S init --encrypt
pass "init --encrypt is not offered yet (exit 2)"

# Set required feature bit 0 (offset 12) and fix the config's checksum (offset 244).
python3 - "$WORK/store/config" <<'PY'
import struct, subprocess, sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[12:16] = struct.pack('<I', 1)
open(p + '.head', 'wb').write(b[:244])
h = subprocess.run(['xxhsum', '-H3', p + '.head'], capture_output=True, text=True, check=True)
b[244:252] = struct.pack('<Q', int(h.stdout.split('=')[-1].strip(), 16))
import os; os.remove(p + '.head'); os.chmod(p, 0o600)
open(p, 'wb').write(b)
PY
before=$(store_fingerprint store)

expect_exit 10 $VSSIMG $S list
expect_one_line_error "requires features 0x1"
pass "an encrypted store is refused by every other command (exit 10)"

expect_exit 0 $VSSIMG $S key list
[ ! -s out ] || fail "key list of a store without keys printed: $(cat out)"
pass "key list on an encrypted store without key files: nothing"

expect_exit 15 $VSSIMG $S key add </dev/null
expect_one_line_error "no password given"
pass "no password: exit 15, one line"

expect_exit 15 $VSSIMG $S key add --password-file "$WORK/missing.pw" </dev/null
expect_one_line_error "missing.pw"
: > empty.pw
VSSIMG_PASSWORD_FILE=$WORK/empty.pw expect_exit 15 $VSSIMG $S key add </dev/null
expect_one_line_error "empty.pw.*empty"
pass "an unreadable or empty password file: exit 15, names it"

echo secret > pw
VSSIMG_PASSWORD=secret expect_exit 10 $VSSIMG $S key add --new-password-file pw </dev/null
expect_one_line_error "without any key file"
pass "VSSIMG_PASSWORD is read; a store without key files: exit 10"
[ "$(store_fingerprint store)" = "$before" ] || fail "a refused command changed the store"

# A damaged key file: listed as damaged; opening says no key file is readable.
head -c 216 /dev/urandom > store/key-0123456789abcdef.key
before=$(store_fingerprint store)
expect_exit 0 $VSSIMG $S key list
grep -q "key-0123456789abcdef.*damaged.*bad magic" out || fail "key list: $(cat out)"
expect_exit 12 $VSSIMG $S key add --password-file pw --new-password-file pw </dev/null
expect_one_line_error "no readable key file.*bad magic"
expect_exit 12 $VSSIMG $S key passwd --password-file pw --new-password-file pw </dev/null
expect_one_line_error "no readable key file"
pass "a damaged key file: listed as damaged, exit 12 one line"

expect_exit 12 $VSSIMG $S key remove 0123 --password-file pw </dev/null
expect_one_line_error "no readable key file"
[ "$(store_fingerprint store)" = "$before" ] || fail "a refused key command changed the store"
pass "no refused key command changed the store"
