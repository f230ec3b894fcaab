#!/usr/bin/env python3
# Damage matrix: on a store with several points, each kind of file (config, pack record,
# pack table, index segment, point file) is bit-flipped, truncated, deleted and replaced
# with another store's file. verify (--read-data where structure is intact) exits with
# the documented code and lists exactly the affected points and volume offsets, computed
# here independently from the images and the raw pack bytes; unaffected points verify
# and restore byte-identical; affected points never restore wrong bytes; nothing
# crashes or hangs; the damaged store is not modified. repair index rebuilds a lost or
# damaged index from the packs.
#
# Usage: damage_matrix.py VSSIMG WORKDIR (tests/cli/test_damage_matrix.sh runs it).
import glob, hashlib, json, os, random, shutil, struct, subprocess, sys

VSSIMG, WORK = sys.argv[1], sys.argv[2]
B = 65536
rng = random.Random(7)
n_ok = 0

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)

def ok(msg):
    global n_ok
    n_ok += 1
    print(f"ok {n_ok} - {msg}", flush=True)

def run(store, *args, expect=None):
    try:
        r = subprocess.run([VSSIMG, "--store", store, *args], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        fail(f"hang: vssimg {' '.join(args)}")
    if r.returncode < 0 or r.returncode >= 128 or "internal error" in r.stderr:
        fail(f"crash (exit {r.returncode}): vssimg {' '.join(args)}\n{r.stderr}")
    if expect is not None and r.returncode != expect:
        fail(f"vssimg {' '.join(args)}: exit {r.returncode}, expected {expect}\n{r.stdout}\n{r.stderr}")
    return r

def point_of(r):
    for line in r.stdout.splitlines():
        if line.startswith("point "):
            return line.split()[1]
    fail("no point id in backup output")

def fingerprint(store):
    out = {}
    for root, _, files in os.walk(store):
        if "/locks" in root:
            continue
        for f in files:
            if f == "verify.state":  # advisory: which packs verify read last (docs/format.md)
                continue
            if f.startswith("damage-") and f.endswith(".state"):  # the damage record: added to
                continue                                           # by verify and restore
            p = os.path.join(root, f)
            out[p] = hashlib.sha1(open(p, "rb").read()).hexdigest()
    return out

# Images: random (incompressible: records hold raw bytes), a short last block, a shared
# run of blocks between points, and zero blocks.
img1 = bytearray(rng.randbytes(40 * B + 5000))
img1[30 * B:32 * B] = bytes(2 * B)
img2 = bytearray(img1); img2[4 * B:10 * B] = rng.randbytes(6 * B)
img3 = bytearray(img2); img3[4 * B:8 * B] = img1[4 * B:8 * B]; img3[20 * B:26 * B] = rng.randbytes(6 * B); img3[12 * B:13 * B] = img3[2 * B:3 * B]
images = [bytes(img1), bytes(img2), bytes(img3)]

def make_store(path):
    run(path, "init", "--block-size", "64K", expect=0)
    ids = []
    for i, img in enumerate(images):
        src = os.path.join(WORK, "src.img")
        open(src, "wb").write(img)
        ids.append(point_of(run(path, "backup", src, expect=0)))
    return ids

A, OTHER = os.path.join(WORK, "pristine"), os.path.join(WORK, "other")
points = make_store(A)
other_points = make_store(OTHER)
img_of = dict(zip(points, images))
for p, img in img_of.items():
    open(os.path.join(WORK, p + ".img"), "wb").write(img)

def pack_records(path):
    """[(offset, payload bytes)] for every table entry of an intact pack (raw codec)."""
    d = open(path, "rb").read()
    toff, count = struct.unpack_from("<QI", d, len(d) - 32)
    recs = []
    for i in range(count):
        _, off, raw_len, stored, codec = struct.unpack_from("<16sIIIB", d, toff + 32 * i)
        assert codec == 0 and raw_len == stored, "test images must be incompressible"
        recs.append((off, d[off + 48: off + 48 + stored]))
    return recs

def segment_packs(path):
    d = open(path, "rb").read()
    _, _, npacks = struct.unpack_from("<8sII", d, 0)
    return [d[40 + 16 * i: 56 + 16 * i].hex() for i in range(npacks)]

def where(payloads):
    """(point, volume offset) of every block whose bytes are one of `payloads`."""
    hit = set()
    for p, img in img_of.items():
        for off in range(0, len(img), B):
            if img[off:off + B] in payloads:
                hit.add((p, off))
    return hit

def all_data_blocks():
    return {(p, off) for p, img in img_of.items() for off in range(0, len(img), B) if any(img[off:off + B])}

packs = {os.path.basename(f)[:-5]: f for f in glob.glob(A + "/packs/*/*.pack")}
segments = sorted(glob.glob(A + "/index/*.idx"))
payloads_of = {pid: {r[1] for r in pack_records(f)} for pid, f in packs.items()}
# A pack used by all three points (written by the first backup) and one only point 2 uses.
shared = next(pid for pid in sorted(packs) if {p for p, _ in where(payloads_of[pid])} == set(points))
only2 = next(pid for pid in sorted(packs) if {p for p, _ in where(payloads_of[pid])} == {points[1]})

def victim_path(kind, store, pid=None):
    rel = os.path.relpath(packs[pid], A) if kind == "pack" else None
    return os.path.join(store, rel) if rel else None

def flip(path, off):
    b = bytearray(open(path, "rb").read()); b[off] ^= 0x5A; open(path, "wb").write(b)

def truncate(path, size):
    os.truncate(path, size)

def check_case(name, damage, expect_offsets, expect_whole_points=(), structure_exit=12,
               data_exit=12, repair=False, exit_codes=None):
    """Applies `damage` to a fresh copy and checks verify, restore and repair."""
    store = os.path.join(WORK, "store")
    shutil.rmtree(store, ignore_errors=True)
    shutil.copytree(A, store, symlinks=True)
    damage(store)
    before = fingerprint(store)
    if exit_codes is not None:   # the store cannot be opened: every command refuses
        for args in (["verify"], ["verify", "--read-data"], ["list"], ["restore", points[0], os.path.join(WORK, "r.img")]):
            r = run(store, *args)
            if r.returncode != exit_codes[0] or exit_codes[1] not in r.stderr:
                fail(f"{name}: {' '.join(args)}: exit {r.returncode}, stderr {r.stderr!r}")
        if os.path.exists(os.path.join(WORK, "r.img")):
            fail(f"{name}: restore wrote a file")
        if fingerprint(store) != before or os.path.exists(os.path.join(store, "verify.state")):
            fail(f"{name}: the store was modified")
        ok(f"{name}: every command exits {exit_codes[0]} naming '{exit_codes[1]}'; store untouched")
        return
    run(store, "verify", expect=structure_exit)
    r = run(store, "--json", "verify", "--read-data", expect=data_exit)
    recs = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    dmg = [d for d in recs if d.get("type") == "damage"]
    got = {(d["point"], d["offset"]) for d in dmg if "offset" in d}
    whole = {d["point"] for d in dmg if "offset" not in d and d["point"]}
    if got != set(expect_offsets):
        fail(f"{name}: damage reported at {sorted(got - set(expect_offsets))[:5]} (unexpected), "
             f"missing {sorted(set(expect_offsets) - got)[:5]}")
    if whole != set(expect_whole_points):
        fail(f"{name}: whole-point damage {whole}, expected {set(expect_whole_points)}")
    affected = {p for p, _ in expect_offsets} | set(expect_whole_points)
    for p in points:
        out = os.path.join(WORK, "r.img")
        if os.path.exists(out):
            os.remove(out)
        if not os.path.exists(os.path.join(store, "points", p + ".point")):
            rr = run(store, "restore", p, out, expect=2)
            continue
        if p not in affected:
            run(store, "verify", p, "--read-data", expect=0)
        rr = run(store, "restore", p, out)
        if rr.returncode in (0, 3):   # 3: restored, with a warning about a damaged index segment
            if open(out, "rb").read() != img_of[p]:
                fail(f"{name}: point {p} restored WRONG bytes")
        elif p not in affected or rr.returncode != 12 or os.path.exists(out):
            fail(f"{name}: restore of point {p}: exit {rr.returncode} (affected: {p in affected})\n{rr.stderr}")
    if fingerprint(store) != before:
        fail(f"{name}: verify or restore modified the store")
    n_off = len(expect_offsets)
    ok(f"{name}: verify exit {structure_exit}, --read-data exit {data_exit}; exactly {n_off} damaged blocks"
       f"{' and whole points ' + ','.join(sorted(expect_whole_points)) if expect_whole_points else ''} reported; "
       f"unaffected points verify and restore; nothing restored wrong")
    if repair:
        run(store, "repair", "index", expect=0)
        run(store, "verify", "--read-data", expect=0)
        for p in points:
            out = os.path.join(WORK, "r.img")
            if os.path.exists(out):
                os.remove(out)
            run(store, "restore", p, out, expect=0)
            if open(out, "rb").read() != img_of[p]:
                fail(f"{name}: after repair, point {p} restored wrong bytes")
        ok(f"{name}: repair index rebuilds the index from the packs; all points verify and restore")

cases = 0
def case(*a, **k):
    global cases
    cases += 1
    check_case(*a, **k)

# --- config
case("config: flipped byte", lambda s: flip(s + "/config", 100), set(), exit_codes=(12, "config: checksum mismatch"))
case("config: truncated", lambda s: truncate(s + "/config", 100), set(), exit_codes=(12, "config is 100 bytes"))
case("config: deleted", lambda s: os.remove(s + "/config"), set(), exit_codes=(10, "no config file"))
case("config: another store's", lambda s: shutil.copy(OTHER + "/config", s + "/config"), all_data_blocks())

# --- pack records
def rec(pid, i):
    return pack_records(packs[pid])[i]
for pid, label in ((shared, "pack used by all points"), (only2, "pack used by point 2 only")):
    off, payload = rec(pid, 1)
    case(f"pack record payload byte flipped ({label})", lambda s, o=off: flip(victim_path("pack", s, pid), o + 48 + 1000),
         where({payload}), structure_exit=0)
    case(f"pack record header (block id) flipped ({label})", lambda s, o=off: flip(victim_path("pack", s, pid), o + 40),
         where({payload}), structure_exit=0)
    size = os.path.getsize(packs[pid])
    case(f"pack truncated mid-records ({label})", lambda s: truncate(victim_path("pack", s, pid), size // 2),
         where(payloads_of[pid]))
    case(f"pack deleted ({label})", lambda s: os.remove(victim_path("pack", s, pid)), where(payloads_of[pid]))
    other_pack = sorted(glob.glob(OTHER + "/packs/*/*.pack"))[0]
    case(f"pack replaced by another store's ({label})",
         lambda s: shutil.copy(other_pack, victim_path("pack", s, pid)), where(payloads_of[pid]))
    # --- pack table and trailer
    d = open(packs[pid], "rb").read()
    toff = struct.unpack_from("<Q", d, len(d) - 32)[0]
    case(f"pack table entry flipped ({label})", lambda s, t=toff: flip(victim_path("pack", s, pid), t + 33),
         where(payloads_of[pid]))
    case(f"pack trailer (table offset) flipped ({label})", lambda s: flip(victim_path("pack", s, pid), size - 32),
         where(payloads_of[pid]))
    case(f"pack trailer truncated ({label})", lambda s: truncate(victim_path("pack", s, pid), size - 10),
         where(payloads_of[pid]))

# --- index segments (each backup wrote one; the first indexes the shared packs)
for seg in segments:
    lost = set().union(*(payloads_of[p] for p in segment_packs(seg)))
    rel = os.path.relpath(seg, A)
    sz = os.path.getsize(seg)
    tag = os.path.basename(seg)[:8]
    case(f"index segment {tag} byte flipped", lambda s: flip(os.path.join(s, rel), sz // 2), where(lost), repair=True)
    case(f"index segment {tag} truncated", lambda s: truncate(os.path.join(s, rel), sz - 100), where(lost), repair=True)
    case(f"index segment {tag} deleted", lambda s: os.remove(os.path.join(s, rel)), where(lost), repair=True)
    oseg = sorted(glob.glob(OTHER + "/index/*.idx"))[0]
    case(f"index segment {tag} replaced by another store's", lambda s: shutil.copy(oseg, os.path.join(s, rel)),
         where(lost), repair=True)
case("all index segments deleted", lambda s: [os.remove(f) for f in glob.glob(s + "/index/*.idx")],
     all_data_blocks(), repair=True)

# --- point files
for i, p in enumerate(points):
    path = f"points/{p}.point"
    sz = os.path.getsize(os.path.join(A, path))
    case(f"point {i + 1} byte flipped in the block map", lambda s: flip(os.path.join(s, path), sz - 40), set(), {p})
    case(f"point {i + 1} truncated", lambda s: truncate(os.path.join(s, path), sz // 2), set(), {p})
    case(f"point {i + 1} replaced by another store's point file",
         lambda s: shutil.copy(f"{OTHER}/points/{other_points[i]}.point", os.path.join(s, path)), set(), {p})
# A deleted point file is indistinguishable from `forget`: the others verify, restore of it is exit 2.
case("point 2 deleted", lambda s: os.remove(f"{s}/points/{points[1]}.point"), set(), structure_exit=0, data_exit=0)
# A foreign point planted under its own name: none of its blocks are in this store.
def plant(s):
    shutil.copy(f"{OTHER}/points/{other_points[0]}.point", f"{s}/points/")
foreign = {(other_points[0], off) for off in range(0, len(images[0]), B) if any(images[0][off:off + B])}
case("another store's point file planted", plant, foreign)

# --- a damaged pack table with the index lost: repair scans the records
def table_and_index(s):
    d = open(packs[shared], "rb").read()
    flip(victim_path("pack", s, shared), struct.unpack_from("<Q", d, len(d) - 32)[0] + 40)
    for f in glob.glob(s + "/index/*.idx"):
        os.remove(f)
store = os.path.join(WORK, "store")
shutil.rmtree(store); shutil.copytree(A, store)
table_and_index(store)
r = run(store, "repair", "index", expect=3)
if "found 4 intact records by scanning" not in r.stderr and "intact records by scanning" not in r.stderr:
    fail("repair did not scan the pack with the damaged table: " + r.stderr)
r = run(store, "--json", "verify", "--read-data", expect=12)   # the table itself is still damaged
got = {(d["point"], d["offset"]) for d in map(json.loads, r.stdout.splitlines()) if d.get("type") == "damage" and "offset" in d}
if got != where(payloads_of[shared]):
    fail(f"after repair with a damaged table: damage at {sorted(got)[:5]}")
for p in points:
    out = os.path.join(WORK, "r.img")
    if os.path.exists(out):
        os.remove(out)
    run(store, "restore", p, out, expect=0)
    if open(out, "rb").read() != img_of[p]:
        fail(f"after repair by scanning, point {p} restores wrong bytes")
ok("pack table damaged and index lost: repair index finds the records by scanning (exit 3, says so); "
   "every point restores byte-identical; verify still names the damaged table's blocks")
cases += 1

# --- newer formats: refused with exit 10 naming both versions; the store is not modified
def xxh3(b):
    out = subprocess.run(["xxhsum", "-H3", "-"], input=b, capture_output=True, check=True).stdout.split()
    return int(out[-1 if len(out[-1]) == 16 else 0], 16)

def newer(name, path_of, edit, cmds, want):
    store = os.path.join(WORK, "store")
    shutil.rmtree(store); shutil.copytree(A, store)
    path = path_of(store)
    b = bytearray(open(path, "rb").read()); edit(b); open(path, "wb").write(b)
    before = fingerprint(store)
    if os.path.exists(os.path.join(WORK, "r.img")):
        os.remove(os.path.join(WORK, "r.img"))
    src = os.path.join(WORK, "src.img"); open(src, "wb").write(images[2] + b"changed")
    for args in cmds:
        r = run(store, *[src if a == "SRC" else a for a in args])
        if r.returncode != 10 or not all(w in r.stderr for w in want) or r.stderr.count("error") != 1:
            fail(f"{name}: {' '.join(args)}: exit {r.returncode}: {r.stderr!r}")
    if fingerprint(store) != before or os.path.exists(os.path.join(store, "verify.state")):
        fail(f"{name}: the store was modified")
    if os.path.exists(os.path.join(WORK, "r.img")):
        fail(f"{name}: restore wrote a file")
    ok(f"{name}: {', '.join(a[0] for a in cmds)} exit 10 naming {' and '.join(repr(w) for w in want)}; store untouched")

def config_feature(b):
    b[12:16] = struct.pack("<I", 4); b[244:252] = struct.pack("<Q", xxh3(bytes(b[:244])))
def config_version(b):
    b[8:12] = struct.pack("<I", 2); b[244:252] = struct.pack("<Q", xxh3(bytes(b[:244])))
def point_version(b):
    b[8:12] = struct.pack("<I", 2); b[-16:-8] = struct.pack("<Q", xxh3(bytes(b[:-16])))
def pack_version(b):
    b[8:12] = struct.pack("<I", 2)
everything = [["verify"], ["backup", "SRC"], ["list"], ["restore", points[0], os.path.join(WORK, "r.img")],
              ["repair", "index"]]
newer("config of format 2", lambda s: s + "/config", config_version, everything, ["version 2 is newer", "(1)"])
newer("config requiring unknown feature 0x4", lambda s: s + "/config", config_feature, everything,
      ["requires features 0x4", "format 1"])
newer("point of format 2", lambda s: f"{s}/points/{points[0]}.point", point_version,
      [["verify"], ["verify", "--read-data"], ["restore", points[0], os.path.join(WORK, "r.img")]],
      ["point format version 2", "(1)"])
newer("pack of format 2", lambda s: victim_path("pack", s, shared), pack_version,
      [["verify"], ["verify", "--read-data"], ["restore", points[0], os.path.join(WORK, "r.img")]],
      ["pack format version 2 is newer", "(1)"])
cases += 4

# --- security: config owner-only; no symlinks out of the store; restore writes only its target
mode = os.stat(A + "/config").st_mode & 0o777
if mode != 0o600:
    fail(f"config is mode {mode:o}, not 600")
ok("config (it holds the hash secret) is created mode 600")
for sub in ("packs", "index", "points", "locks", "tmp"):
    store = os.path.join(WORK, "store")
    shutil.rmtree(store); shutil.copytree(A, store)
    outside = os.path.join(WORK, "outside")
    shutil.rmtree(outside, ignore_errors=True)
    shutil.move(os.path.join(store, sub), outside)
    open(os.path.join(outside, "precious"), "w").write("x")
    os.symlink(outside, os.path.join(store, sub))
    before = fingerprint(outside)
    for args in (["verify"], ["backup", os.path.join(WORK, "src.img")], ["repair", "index"]):
        r = run(store, *args)
        if r.returncode == 0 or "symbolic link" not in r.stderr:
            fail(f"{sub} as a symlink: {args[0]}: exit {r.returncode}: {r.stderr!r}")
    if fingerprint(outside) != before:
        fail(f"{sub} as a symlink: files outside the store changed")
ok("packs, index, points, locks or tmp as a symlink out of the store: verify, backup and repair refuse; "
   "nothing outside changes")
tdir = os.path.join(WORK, "tdir"); os.makedirs(tdir, exist_ok=True)
outside_file = os.path.join(WORK, "outside-target")
os.symlink(outside_file, os.path.join(tdir, "dangling.img"))
open(os.path.join(WORK, "keep.img"), "w").write("keep")
os.symlink(os.path.join(WORK, "keep.img"), os.path.join(tdir, "link.img"))
r = run(A, "restore", points[0], os.path.join(tdir, "dangling.img"))
if r.returncode == 0 or os.path.exists(outside_file):
    fail(f"restore followed a dangling symlink out of its directory (exit {r.returncode})")
run(A, "restore", points[0], os.path.join(tdir, "link.img"), expect=2)
if open(os.path.join(WORK, "keep.img")).read() != "keep":
    fail("restore without --force wrote through a symlink")
run(A, "restore", points[0], os.path.join(tdir, "new.img"), expect=0)
if sorted(os.listdir(tdir)) != ["dangling.img", "link.img", "new.img"] or open(os.path.join(tdir, "new.img"), "rb").read() != img_of[points[0]]:
    fail(f"restore wrote something besides its target: {os.listdir(tdir)}")
ok("restore writes only its target: not through a dangling symlink, not through a link without --force")

print(f"{cases} damage cases", flush=True)
print(f"{n_ok} passed, 0 failed")
