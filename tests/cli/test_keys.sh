#!/usr/bin/env bash
# `vssimg key ...` and the store password: key rotation without touching data (add, passwd,
# remove, never the last), and every refusal (no password, a wrong one, an unreadable or
# empty password file, a damaged key file) is one line with a documented exit code and
# changes nothing in the store; a DPAPI key off Windows is listed and skipped.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh" "$1"
unset VSSIMG_PASSWORD VSSIMG_PASSWORD_FILE
KDF="--kdf-memory 8K --kdf-passes 1"

S="--store $WORK/plain"
expect_exit 0 $VSSIMG $S init </dev/null
expect_exit 2 $VSSIMG $S key list
expect_one_line_error "not encrypted"
pass "key list on a plain store: exit 2, says it is not encrypted"

echo first-secret > pw1
echo second-secret > pw2
echo third-secret > pw3
S="--store $WORK/store"
expect_exit 15 $VSSIMG $S init --encrypt $KDF </dev/null
expect_one_line_error "no password given"
[ ! -e store/config ] || fail "a refused init --encrypt left a config"
expect_exit 2 $VSSIMG $S init --encrypt --kdf-passes 0 --password-file pw1 </dev/null
expect_one_line_error "Argon2id"
expect_exit 0 $VSSIMG $S init --encrypt $KDF --password-file pw1 </dev/null
grep -q "created encrypted store" out || fail "init --encrypt said: $(cat out)"
[ "$(ls store/key-*.key | wc -l)" = 1 ] || fail "init --encrypt wrote no key file"
pass "init --encrypt: one key file; refused without a password or with bad Argon2id cost"

printf 'some data\n%.0s' $(seq 30000) > src.img
expect_exit 0 $VSSIMG $S --password-file pw1 backup src.img </dev/null
before=$(store_fingerprint store)

expect_exit 15 $VSSIMG $S list </dev/null
expect_one_line_error "no password given"
expect_exit 15 $VSSIMG $S --password-file pw2 list </dev/null
expect_one_line_error "wrong password"
expect_exit 15 $VSSIMG $S key add --password-file "$WORK/missing.pw" </dev/null
expect_one_line_error "missing.pw"
: > empty.pw
VSSIMG_PASSWORD_FILE=$WORK/empty.pw expect_exit 15 $VSSIMG $S list </dev/null
expect_one_line_error "empty.pw.*empty"
[ "$(store_fingerprint store)" = "$before" ] || fail "a refused command changed the store"
pass "no, a wrong, a missing or an empty password: exit 15, one line, store unchanged"

VSSIMG_PASSWORD=first-secret expect_exit 0 $VSSIMG $S list </dev/null
VSSIMG_PASSWORD_FILE=$WORK/pw1 expect_exit 0 $VSSIMG $S list </dev/null
pass "VSSIMG_PASSWORD and VSSIMG_PASSWORD_FILE are read"

packs_before=$(find store/packs store/points store/index -type f | sort | xargs sha1sum)
expect_exit 0 $VSSIMG $S key add --password-file pw1 --new-password-file pw2 </dev/null
key2=$(grep -o 'key-[0-9a-f]\{16\}' out | head -1)
expect_exit 0 $VSSIMG $S --password-file pw2 verify --read-data </dev/null
expect_exit 0 $VSSIMG $S key passwd --password-file pw1 --new-password-file pw3 </dev/null
key3=$(grep -o 'key-[0-9a-f]\{16\}' out | tail -1)
expect_exit 15 $VSSIMG $S --password-file pw1 list </dev/null
expect_one_line_error "wrong password"
expect_exit 0 $VSSIMG $S --password-file pw3 restore latest out.img </dev/null
cmp -s src.img out.img || fail "restore after key rotation differs"
[ "$(ls store/key-*.key | wc -l)" = 2 ] || fail "expected two keys after add and passwd"
[ "$(find store/packs store/points store/index -type f | sort | xargs sha1sum)" = "$packs_before" ] ||
  fail "a key command changed data objects"
pass "key add and key passwd: new passwords open, the old one no longer does, data untouched"

expect_exit 0 $VSSIMG $S key list
[ "$(grep -c '^key-' out)" = 2 ] || fail "key list: $(cat out)"
grep -q "^$key2 " out && grep -q "^$key3 " out || fail "key list does not show $key2 and $key3: $(cat out)"
expect_exit 0 $VSSIMG $S key remove "$key2" --password-file pw3 </dev/null
expect_exit 15 $VSSIMG $S --password-file pw2 list </dev/null
expect_exit 2 $VSSIMG $S key remove "$key3" --password-file pw3 </dev/null
expect_one_line_error "last"
pass "key remove: removes one, never the last readable key (exit 2)"

# A damaged key file: listed as damaged; the others still open the store.
head -c 216 /dev/urandom > store/key-0123456789abcdef.key
expect_exit 0 $VSSIMG $S key list
grep -q "key-0123456789abcdef.*damaged.*bad magic" out || fail "key list: $(cat out)"
left=pw3
VSSIMG_PASSWORD_FILE=$WORK/$left expect_exit 0 $VSSIMG $S list </dev/null
# Only damaged key files left: one line, exit 12.
rm -f "store/$key3.key" "store/$key3"
[ "$(ls store/key-*.key | wc -l)" = 1 ] || fail "the remaining good key was not removed"
before=$(store_fingerprint store)
expect_exit 12 $VSSIMG $S --password-file $left list </dev/null
expect_one_line_error "no readable key file.*bad magic"
expect_exit 12 $VSSIMG $S key add --password-file $left --new-password-file pw1 </dev/null
expect_one_line_error "no readable key file"
[ "$(store_fingerprint store)" = "$before" ] || fail "a refused key command changed the store"
pass "a damaged key file: listed as damaged; none readable: exit 12, one line, nothing changed"

# DPAPI keys (Windows) elsewhere: listed as dpapi, skipped when unlocking, not written here.
S="--store $WORK/dstore"
expect_exit 0 $VSSIMG $S init --encrypt $KDF --password-file pw1 </dev/null
cp "$HERE/../fuzz/corpus/fuzz_key/valid-dpapi-key" dstore/key-1122334455667788.key
expect_exit 0 $VSSIMG $S key list </dev/null
grep -q "^key-1122334455667788 .*win-host  dpapi" out || fail "key list: $(cat out)"
grep -q "password argon2id 1 passes" out || fail "key list, password key: $(cat out)"
expect_exit 0 $VSSIMG $S --password-file pw1 list </dev/null
expect_exit 2 $VSSIMG $S --password-file pw1 key add --dpapi </dev/null
expect_one_line_error "DPAPI keys exist only on Windows"
expect_exit 0 $VSSIMG $S --password-file pw1 key remove 1122 </dev/null
[ ! -e dstore/key-1122334455667788.key ] || fail "key remove left the DPAPI key"
pass "a DPAPI key off Windows: listed as dpapi, skipped, key add --dpapi refused (exit 2)"
