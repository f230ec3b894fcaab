#!/usr/bin/env bash
# A store in S3 on a real Ceph radosgw (scripts/s3-server; scripts/test starts it and
# exports AWS_ENDPOINT_URL and the keys): init makes the bucket, backup, verify
# --read-data, restore byte-identical, forget, prune, repair index; a wrong secret exits 14
# with the S3 code; a dead endpoint fails with one line, exit 1. Skipped (77) without a
# server: run `scripts/s3-server start DIR; source DIR/env` first to run it by hand.
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  echo "SKIP: no S3 server (AWS_ENDPOINT_URL unset; scripts/test starts one with scripts/s3-server)"
  exit 77
fi
source "$(dirname "$0")/lib.sh" "$1"

bucket="vssimg-test-$$-$RANDOM"
S="--store s3://$bucket/store"

make_tree tree 24
make_ext4 vol.img 64 tree
cp vol.img vol1.img

expect_exit 0 $VSSIMG $S init
grep -q "created store s3://$bucket/store" out || { cat out; fail "init did not name the S3 store"; }
expect_exit 1 $VSSIMG $S init
grep -q "already exists" err || { cat err; fail "a second init did not say a store exists"; }
pass "init creates the bucket and the store; a second init is refused"

expect_exit 0 $VSSIMG $S backup vol.img --label first
p1=$(grep -o 'point [0-9a-f]\{16\}' out | head -1 | cut -d' ' -f2)
[ -n "$p1" ] || fail "no point id in backup output"
head -c 4M /dev/urandom > change.bin
debugfs -w -R "write change.bin /new-file.bin" vol.img >/dev/null 2>&1
expect_exit 0 $VSSIMG $S backup vol.img --label second
p2=$(grep -o 'point [0-9a-f]\{16\}' out | head -1 | cut -d' ' -f2)
expect_exit 0 $VSSIMG $S list
[ "$(grep -c '^[0-9a-f]\{16\}' out)" = 2 ] || { cat out; fail "list does not show 2 points"; }
pass "two backups to S3"

expect_exit 0 $VSSIMG $S verify --read-data
grep -q "no damage" out || { cat out; fail "verify --read-data did not say no damage"; }
pass "verify --read-data reads every pack back from radosgw"

expect_exit 0 $VSSIMG $S restore "$p1" r1.img
cmp vol1.img r1.img || fail "restore of the first point differs"
expect_exit 0 $VSSIMG $S restore "$p2" r2.img
cmp vol.img r2.img || fail "restore of the second point differs"
pass "restores from S3 are byte-identical"

expect_exit 0 $VSSIMG $S forget --keep-last 1
expect_exit 0 $VSSIMG $S list
[ "$(grep -c '^[0-9a-f]\{16\}' out)" = 1 ] || { cat out; fail "forget --keep-last 1 left $(grep -c '^[0-9a-f]\{16\}' out) points"; }
expect_exit 0 $VSSIMG $S prune
expect_exit 0 $VSSIMG $S repair index
expect_exit 0 $VSSIMG $S verify --read-data
grep -q "no damage" out || { cat out; fail "verify after forget, prune, repair index found damage"; }
expect_exit 0 $VSSIMG $S restore "$p2" r2b.img
cmp vol.img r2b.img || fail "restore after prune and repair index differs"
pass "forget, prune and repair index on S3; the kept point restores byte-identical"

# No lock object is left behind by the commands above.
expect_exit 0 $VSSIMG $S list
pass "no lock left behind (list runs)"

# Faults: a proxy answers every fourth request 503 SlowDown and drops the connection of
# another; backup, verify --read-data and restore still succeed, each retry logged.
python3 "$(dirname "$0")/s3_fault_proxy.py" "${AWS_ENDPOINT_URL##*:}" "$WORK/proxy.port" &
proxy=$!
trap 'kill $proxy 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 600); do [ -e "$WORK/proxy.port" ] && break; sleep 0.1; done
[ -e "$WORK/proxy.port" ] || fail "the fault proxy did not start"
P="env AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$WORK/proxy.port")"
debugfs -w -R "write change.bin /second-copy.bin" vol.img >/dev/null 2>&1
expect_exit 0 $P $VSSIMG $S --log-file "$WORK/faults.log" backup vol.img --label faults
p3=$(grep -o 'point [0-9a-f]\{16\}' out | head -1 | cut -d' ' -f2)
grep -q "HTTP 503 SlowDown; retrying" "$WORK/faults.log" || { cat "$WORK/faults.log"; fail "no 503 retry logged"; }
# A drop is retried by libcurl itself on a reused connection, or logged here otherwise.
[ -s "$WORK/proxy.port.dropped" ] || fail "the proxy dropped no connection"
expect_exit 0 $P $VSSIMG $S verify --read-data
grep -q "no damage" out || { cat out; fail "verify through the fault proxy found damage"; }
expect_exit 0 $P $VSSIMG $S restore "$p3" r3.img
cmp vol.img r3.img || fail "restore through the fault proxy differs"
kill $proxy
pass "503 SlowDown and dropped connections are retried (logged); backup, verify, restore intact"

expect_exit 14 env AWS_SECRET_ACCESS_KEY=wrong-secret $VSSIMG $S list
expect_one_line_error "SignatureDoesNotMatch"
pass "a wrong secret exits 14 naming SignatureDoesNotMatch"

expect_exit 14 env AWS_ACCESS_KEY_ID=nosuchkey $VSSIMG $S list
expect_one_line_error "InvalidAccessKeyId"
pass "an unknown access key exits 14 naming InvalidAccessKeyId"

dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect_exit 1 timeout 300 env AWS_ENDPOINT_URL=http://127.0.0.1:$dead $VSSIMG $S list
expect_one_line_error "no answer from http://127.0.0.1:$dead"
pass "a dead endpoint fails with one line naming it, exit 1"

expect_exit 10 $VSSIMG --store "s3://$bucket/nothing-here" list
pass "a prefix without a store is 'store not found' (10)"
