#!/usr/bin/env bash
# Encrypted stores (docs/format.md, "Encryption"): a text marker of the source volume, its
# file names and the point's label are in a plain store and nowhere in an encrypted one;
# round trips are byte-identical; a tampered or swapped object is damage (verify exit 12
# naming points and offsets); copy works between a plain and an encrypted store both ways.
source "$(dirname "$0")/lib.sh" "$1"
unset VSSIMG_PASSWORD VSSIMG_PASSWORD_FILE
KDF="--kdf-memory 8K --kdf-passes 1"
MARK=VSSIMG-MARKER-7f3a9c
echo "the encrypted store's password" > pw
echo "another password" > pw.other

mkdir tree
for i in $(seq 40); do
  for j in $(seq 200); do echo "$MARK line $j of file $i, a compressible text"; done > "tree/$MARK-budget-$i.txt"
done
make_tree tree/gen 6
make_ext4 vol.img 24 tree

# found STORE: the files of STORE holding the marker (file names or contents).
found() { { grep -rlaF "$MARK" "$1" || true; find "$1" -name "*$MARK*"; } | sort -u; }

expect_exit 0 $VSSIMG --store plain init
expect_exit 0 $VSSIMG --store plain backup vol.img --label "label-$MARK"
[ -n "$(found plain)" ] || fail "the marker is not in the plain store (the test would prove nothing)"
pass "the marker is in a plain store ($(found plain | wc -l) files)"

E="--store $WORK/enc --password-file pw"
expect_exit 0 $VSSIMG $E init --encrypt $KDF
expect_exit 0 $VSSIMG $E backup vol.img --label "label-$MARK"
p1=$(point_of out)
[ -z "$(found enc)" ] || fail "the marker is in the encrypted store: $(found enc)"
pass "the marker, the file names and the label are nowhere in the encrypted store"

plain_bytes=$(store_bytes plain/packs)
enc_bytes=$(store_bytes enc/packs)
python3 -c "import sys; p,e=$plain_bytes,$enc_bytes; sys.exit(0 if e <= p*1.01 else 1)" ||
  fail "encrypted packs $enc_bytes bytes, plain $plain_bytes: more than 1% larger"
pass "encrypted packs within 1% of plain ($enc_bytes vs $plain_bytes bytes)"

expect_exit 0 $VSSIMG $E verify --read-data
expect_exit 0 $VSSIMG $E restore "$p1" r1.img
cmp -s vol.img r1.img || fail "restore from the encrypted store differs"
expect_exit 0 $VSSIMG $E ls "$p1" /
grep -q "$MARK-budget-1.txt" out || fail "ls of an encrypted point: $(head -5 out)"
expect_exit 0 $VSSIMG $E extract "$p1" "/$MARK-budget-7.txt" --target xt
cmp -s "tree/$MARK-budget-7.txt" "xt/$MARK-budget-7.txt" || fail "extract from the encrypted store differs"
pass "verify --read-data, restore, ls and extract of an encrypted point: identical"

# An incremental backup: deduplicated against the first (ids are AES-256 of a GMAC).
echo "changed" >> "tree/$MARK-budget-3.txt"
make_ext4 vol2.img 24 tree
before=$(store_bytes enc/packs)
expect_exit 0 $VSSIMG $E backup vol2.img
p2=$(point_of out)
grown=$(( $(store_bytes enc/packs) - before ))
[ "$grown" -lt $((4 * 1024 * 1024)) ] || fail "the second backup stored $grown bytes: no dedup"
expect_exit 0 $VSSIMG $E restore "$p2" r2.img
cmp -s vol2.img r2.img || fail "restore of the second point differs"
pass "a second backup deduplicates ($grown new bytes) and restores identical"

expect_exit 15 $VSSIMG --store enc --password-file pw.other list </dev/null
expect_one_line_error "wrong password"
pass "another password: exit 15, one line"

# copy both ways: plain -> encrypted, encrypted -> plain.
expect_exit 0 $VSSIMG --store enc2 --password-file pw init --encrypt $KDF
expect_exit 0 $VSSIMG --store plain copy --to "$WORK/enc2" --to-password-file pw
[ -z "$(found enc2)" ] || fail "the marker is in the encrypted copy: $(found enc2)"
expect_exit 0 $VSSIMG --store enc2 --password-file pw restore latest c1.img
cmp -s vol.img c1.img || fail "plain -> encrypted copy restores different bytes"
expect_exit 0 $VSSIMG --store back init
expect_exit 0 $VSSIMG $E copy "$p2" --to "$WORK/back"
expect_exit 0 $VSSIMG --store back restore latest c2.img
cmp -s vol2.img c2.img || fail "encrypted -> plain copy restores different bytes"
expect_exit 0 $VSSIMG --store back verify --read-data
pass "copy plain -> encrypted and encrypted -> plain: identical, the encrypted copy sealed"

# Tampering: one byte of the newest pack.
cp -a enc enc.pristine
newest_pack=$(ls -t enc/packs/*/*.pack | head -1)
flip "$newest_pack" $(( $(stat -c %s "$newest_pack") / 2 ))
expect_exit 12 $VSSIMG $E verify --read-data
grep -q "authentication failed" out || { cat out; fail "verify does not say authentication failed"; }
grep -q "point $p2 at volume offset" out || grep -q "point $p1 at volume offset" out ||
  { cat out; fail "damage not attributed to a point and offset"; }
pass "a flipped byte in a pack: verify --read-data exit 12, names the point and offset"

# Swapping: two packs exchange names; a point file under another point's name.
rm -rf enc && cp -a enc.pristine enc
mapfile -t packs < <(ls enc/packs/*/*.pack)
[ "${#packs[@]}" -ge 2 ] || fail "expected at least two packs"
mv "${packs[0]}" swap.tmp && mv "${packs[1]}" "${packs[0]}" && mv swap.tmp "${packs[1]}"
expect_exit 12 $VSSIMG $E verify --read-data
grep -q "authentication failed" out || { cat out; fail "swapped packs not found"; }
rm -rf enc && cp -a enc.pristine enc
cp "enc/points/$p1.point" "enc/points/$p2.point"
expect_exit 12 $VSSIMG $E verify
grep -q "$p2" out || { cat out; fail "a point under another's name is not named"; }
pass "swapped packs and a point under another point's name: exit 12, named"
