#!/usr/bin/env bash
# Host is part of a point's identity (issue 16): three hosts back up a source of the same
# name into one store (`backup --host`). Each backup's parent is its own host's newest
# point (the second host's first backup is a full one); list shows a HOST column and
# filters by --host; show/restore/verify select by --source and --host; forget groups by
# host and source (and by --group-by); backup --keep-* touches only its own host's points;
# the old-store fixture and a point that records no host keep working.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh" "$1"
export TZ=UTC
S="--store $WORK/store"

# json_field FIELD [TYPE]: FIELD of the last record of TYPE (default summary) in $WORK/out.
json_field() { python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in rows if r["type"] == sys.argv[3]]
print(rows[-1][sys.argv[2]])' "$WORK/out" "$1" "${2:-summary}"; }
# json_ids TYPE [FIELD VALUE]: the ids of the records of TYPE (whose FIELD is VALUE), sorted.
json_ids() { python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["type"] != sys.argv[2]: continue
    if len(sys.argv) > 4 and str(r[sys.argv[3]]).lower() != sys.argv[4]: continue
    print(r["id"])' "$WORK/out" "$@" | sort | tr '\n' ' '; }

expect_exit 0 $VSSIMG $S init --block-size 64K
head -c 4M /dev/urandom > a.img
A=$WORK/a.img
declare -A point_of
n=0
# Nights 1-3 at 01:00, hosts 10 minutes apart; each writes its own MiB before its backup.
for day in 1 2 3; do
  for h in srv1 srv2 srv3; do
    n=$((n + 1))
    dd if=/dev/urandom of=a.img bs=64K seek=$((n * 4)) count=4 conv=notrunc status=none
    stamp=$(date -u -d "2024-01-0$day 01:${h#srv}0" +%s)
    given=$h
    [ "$day" = 3 ] && [ "$h" = srv1 ] && given=SRV1  # host names ignore case
    VSSIMG_FAKE_NOW=$stamp expect_exit 0 $VSSIMG $S --json backup a.img --host $given
    point_of[$h-$day]=$(json_field point)
    cp a.img "a-$h-$day.img"
    parent=$(json_field parent)
    [ "$(json_field host backup_point)" = "$given" ] || fail "backup_point does not record host $given"
    if [ "$day" = 1 ]; then
      [ -z "$parent" ] || fail "$h's first backup used $parent (another host's point) as its parent"
      [ "$(json_field bytes_read)" = $((4 * 1024 * 1024)) ] || fail "$h's first backup did not read the whole source"
    else
      [ "$parent" = "${point_of[$h-$((day - 1))]}" ] ||
        fail "$h's backup of night $day compared with $parent, not its own previous point ${point_of[$h-$((day - 1))]}"
    fi
  done
done
pass "each host's parent is its own newest point; a host's first backup is a full one"

expect_exit 0 $VSSIMG $S list
head -1 out | grep -q ' HOST ' || fail "list has no HOST column: $(head -1 out)"
grep -q "^${point_of[srv2-2]} .* srv2 .*$A" out || fail "list does not show point ${point_of[srv2-2]} of srv2"
grep -q "^${point_of[srv1-3]} .* SRV1 " out || fail "list does not show the host as recorded (SRV1)"
expect_exit 0 $VSSIMG $S --json list --host SRV2
[ "$(json_ids point)" = "$(printf '%s\n' ${point_of[srv2-1]} ${point_of[srv2-2]} ${point_of[srv2-3]} | sort | tr '\n' ' ')" ] ||
  fail "list --host SRV2 does not list exactly srv2's points: $(json_ids point)"
python3 -c 'import json,sys; assert all(json.loads(l)["host"] == "srv2" for l in open(sys.argv[1]) if json.loads(l)["type"] == "point")' out ||
  fail "list --json: host field"
expect_exit 0 $VSSIMG $S --json list --host srv1 --source a.img
[ "$(json_field points)" = 3 ] || fail "list --host srv1 --source a.img: $(json_field points) points, not 3"
pass "list: HOST column and JSON field; --host filters, ignoring case"

expect_exit 0 $VSSIMG $S --json show latest --source a.img --host srv2
[ "$(json_field id point)" = "${point_of[srv2-3]}" ] || fail "show latest --source --host srv2 is not srv2's newest point"
expect_exit 0 $VSSIMG $S --json show latest~1 --host srv2
[ "$(json_field id point)" = "${point_of[srv2-2]}" ] || fail "show latest~1 --host srv2"
expect_exit 0 $VSSIMG $S --json show latest --source a.img
[ "$(json_field id point)" = "${point_of[srv3-3]}" ] || fail "show latest without --host is the newest of all hosts"
expect_exit 2 $VSSIMG $S show latest --host srv9
expect_one_line_error "no recovery point on host srv9"
expect_exit 2 $VSSIMG $S show "${point_of[srv1-1]}" --host srv2
expect_one_line_error "on host srv1"
pass "show: latest, latest~1 and ids by --source and --host"

expect_exit 0 $VSSIMG $S restore latest r.img --source a.img --host srv1
cmp r.img a-srv1-3.img || fail "restore latest --host srv1 is not srv1's newest point"
expect_exit 0 $VSSIMG $S restore latest~2 r2.img --source a.img --host srv2
cmp r2.img a-srv2-1.img || fail "restore latest~2 --host srv2 is not srv2's first point"
expect_exit 0 $VSSIMG $S --json verify --host srv2
[ "$(json_field points)" = 3 ] || fail "verify --host srv2 checked $(json_field points) points, not 3"
expect_exit 2 $VSSIMG $S verify --host nosuch
expect_exit 2 $VSSIMG $S verify "${point_of[srv1-1]}" --host srv2
pass "restore and verify select by --host"

for bad in 'bad/name' 'a b' '-x' "$(printf 'x%.0s' $(seq 254))"; do
  expect_exit 2 $VSSIMG $S backup a.img "--host=$bad"
  expect_one_line_error "host"
done
expect_exit 2 $VSSIMG $S list --host 'no way'
expect_exit 2 $VSSIMG $S forget --keep-last 1 --group-by tags
expect_one_line_error "group-by"
pass "bad host names and --group-by values: exit 2, one line"

# Retention: --keep-last 1 keeps each host's newest point of a.img.
expect_exit 0 $VSSIMG $S --json forget --keep-last 1 --dry-run
want="$(printf '%s\n' ${point_of[srv1-3]} ${point_of[srv2-3]} ${point_of[srv3-3]} | sort | tr '\n' ' ')"
[ "$(json_ids point keep true)" = "$want" ] || fail "forget --keep-last 1 keeps $(json_ids point keep true), not each host's newest: $want"
[ "$(json_field group_by)" = host,source ] || fail "forget summary: group_by"
expect_exit 0 $VSSIMG $S forget --keep-last 1 --dry-run
for h in SRV1 srv2 srv3; do
  grep -q "^host $h, source $A: keep 1 point(s), would remove 2" out || { cat out; fail "forget does not report the group of host $h"; }
done
expect_exit 0 $VSSIMG $S --json forget --keep-last 1 --dry-run --group-by source
[ "$(json_ids point keep true)" = "${point_of[srv3-3]} " ] || fail "--group-by source keeps $(json_ids point keep true)"
expect_exit 0 $VSSIMG $S --json forget --keep-last 2 --host srv2
[ "$(json_field removed)" = 1 ] || fail "forget --host srv2 removed $(json_field removed), not 1"
expect_exit 0 $VSSIMG $S --json list
[ "$(json_field points)" = 8 ] || fail "forget --host srv2 touched other hosts' points"
grep -q "${point_of[srv2-1]}" out && fail "forget --host srv2 kept srv2's oldest point"
pass "forget: per host and source by default, --group-by source, --host"

# backup --keep-last 1 on srv3: srv3's three older points go, srv1's and srv2's stay.
VSSIMG_FAKE_NOW=$(date -u -d "2024-01-04 01:30" +%s) expect_exit 0 $VSSIMG $S --json backup a.img --host srv3 --keep-last 1
[ "$(json_field removed)" = 3 ] || fail "backup --keep-last 1 --host srv3 removed $(json_field removed) points, not 3"
expect_exit 0 $VSSIMG $S --json list
[ "$(json_field points)" = 6 ] || fail "backup --keep-* removed other hosts' points ($(json_field points) left)"
expect_exit 0 $VSSIMG $S --json list --host srv1
[ "$(json_field points)" = 3 ] || fail "backup --keep-* of srv3 removed srv1's points"
expect_exit 0 $VSSIMG $S verify --read-data
pass "backup --keep-* applies to its own host and source only; the store verifies"

# Without --host the machine's name is recorded.
expect_exit 0 $VSSIMG $S --json backup a.img
[ "$(json_field host backup_point)" = "$(hostname)" ] || fail "backup records $(json_field host backup_point), not $(hostname)"
[ -z "$(json_field parent)" ] || [ "$(hostname | tr A-Z a-z)" = srv1 ] || fail "the machine's first backup used another host's parent"
pass "backup without --host records this machine's name"

# The fixture of an earlier build: every point records host=vm.
cp -r "$HERE/../fixtures/store-v1" old
O="--store $WORK/old"
expect_exit 0 $VSSIMG $O list --host vm
[ "$(grep -c '^[0-9a-f]\{16\} .* vm ' out)" = 3 ] || { cat out; fail "list --host vm of the old store"; }
expect_exit 0 $VSSIMG $O --json list --host other
[ "$(json_field points)" = 0 ] || fail "list --host other of the old store"
expect_exit 0 $VSSIMG $O forget --keep-last 1 --host vm
grep -q "^host vm, source /tmp/fx/a.img: keep 1 point(s), remove 1" out || { cat out; fail "forget of the old store: groups"; }
expect_exit 0 $VSSIMG $O --json list
[ "$(json_ids point)" = "22d3746a2c8fdcc0 2e92b65381eaadcc " ] || fail "forget of the old store kept $(json_ids point)"
expect_exit 0 $VSSIMG $O verify
pass "the old store: listed by host, forgotten per host and source"

# A point that records no host (docs/format.md: an absent host is no host): made from a
# fixture point by dropping its host line (header length and trailer checksum fixed up).
cp -r "$HERE/../fixtures/store-v1" nohost
python3 - nohost/points/22d3746a2c8fdcc0.point <<'PY'
import struct, subprocess, sys
path = sys.argv[1]
b = bytearray(open(path, "rb").read())
mlen = struct.unpack_from("<I", b, 16)[0]
meta = bytes(b[40:40 + mlen])
assert b"host=vm\n" in meta
meta = meta.replace(b"host=vm\n", b"")
body = b[:40] + meta + b[40 + mlen:-16]
struct.pack_into("<I", body, 16, len(meta))
out = subprocess.run(["xxhsum", "-H3", "-"], input=bytes(body), capture_output=True, check=True).stdout
# "XXH3 (stdin) = <hex>" or "XXH3_<hex>  stdin", by xxhsum's version
digest = [t.split("_")[-1] for t in out.decode().split()
          if len(t.split("_")[-1]) == 16 and all(c in "0123456789abcdef" for c in t.split("_")[-1])][0]
open(path, "wb").write(bytes(body) + struct.pack("<Q", int(digest, 16)) + b[-8:])
PY
N="--store $WORK/nohost"
expect_exit 0 $VSSIMG $N verify
expect_exit 0 $VSSIMG $N list
grep -q '^22d3746a2c8fdcc0 .* - .*/tmp/fx/a.img' out || { cat out; fail "list: a point without host shows '-'"; }
expect_exit 0 $VSSIMG $N --json show latest --source /tmp/fx/a.img --host vm
[ "$(json_field id point)" = 54f9fe7a3a2ac315 ] || fail "--host vm selected the point that records no host"
expect_exit 0 $VSSIMG $N forget --keep-last 1 --dry-run
grep -q "^host (none), source /tmp/fx/a.img: keep 1 point(s), would remove 0" out || { cat out; fail "forget: the group of points without host"; }
grep -q "^host vm, source /tmp/fx/a.img: keep 1 point(s), would remove 0" out || { cat out; fail "forget: vm's group next to the host-less one"; }
expect_exit 0 $VSSIMG $N restore 22d3746a2c8fdcc0 rn.img
[ "$(sha256sum rn.img | cut -d' ' -f1)" = 4e15c0d1417f7de19876607dd6ab3d72c69da38840efe2244b7898a07eae165c ] || fail "the host-less point restores differently"
pass "a point without host: listed as '-', never selected by --host, its own retention group"
echo "$TESTS_RUN passed, 0 failed"
