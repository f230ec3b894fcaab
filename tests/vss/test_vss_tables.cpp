// The HRESULT and writer-state tables and the snapshot record format (platform-neutral).
#include "core/base/error.hpp"
#include "vss/vss.hpp"
#include "vss/vss_records.hpp"

#include "tests/catch.hpp"

using namespace vssimg::vss;

TEST_CASE("vss tables: every HRESULT of VSS.md has a name and advice", "[vss]") {
  const uint32_t documented[] = {0x80070005, 0x80004001, 0x80042301, 0x80042302, 0x80042306,
                                 0x80042308, 0x8004230C, 0x8004230E, 0x8004230F, 0x80042313,
                                 0x80042314, 0x80042316, 0x80042317, 0x80042318, 0x8004231F,
                                 0x8004232C, 0x800423F0, 0x800423F1, 0x800423F2, 0x800423F3,
                                 0x800423F4, 0x800423F5};
  for (uint32_t code : documented) {
    const HresultInfo* info = find_hresult(code);
    REQUIRE(info != nullptr);
    CHECK(std::string(info->advice).size() > 5);
  }
  CHECK(describe_vss_hresult(0x8004231F) ==
        "VSS_E_INSUFFICIENT_STORAGE (0x8004231F): not enough space for the shadow copy storage "
        "area; free space "
        "or resize it with vssadmin resize shadowstorage");
  CHECK(hresult_name(0x80042316) == "VSS_E_SNAPSHOT_SET_IN_PROGRESS");
  CHECK(hresult_name(0x80041234) == "0x80041234");
  CHECK(find_hresult(0x80042316)->retry == Retry::transient);
  CHECK(find_hresult(0x800423F2)->retry == Retry::writer);
  CHECK(find_hresult(0x800423F4)->retry == Retry::no);
  // Microsoft's transient errors: the whole sequence is retried.
  for (uint32_t code : {0x80042313u, 0x80042314u, 0x80042306u, 0x80042316u, 0x80042319u,
                        0x80042315u, 0x8004231Du, 0x80042307u, 0x80042328u}) {
    REQUIRE(find_hresult(code) != nullptr);
    CHECK(find_hresult(code)->retry == Retry::transient);
  }
  CHECK(hresult_name(0x80042328) == "VSS_E_TRANSACTION_FREEZE_TIMEOUT");
}

TEST_CASE("vss tables: writer states and backup types", "[vss]") {
  CHECK(writer_state_name(1) == "Stable");
  CHECK(writer_state_name(9) == "Failed at freeze");
  CHECK(writer_state_name(15) == "Failed at backup shutdown");
  CHECK(writer_state_name(99) == "Unknown state");
  CHECK_FALSE(writer_state_failed(1));
  CHECK(writer_state_failed(7));
  CHECK(parse_backup_type("full") == BackupType::full);
  CHECK_FALSE(parse_backup_type("incremental"));
  CHECK(looks_like_volume("C:"));
  CHECK(looks_like_volume("d:\\"));
  CHECK(looks_like_volume("\\\\?\\Volume{0b1c2d3e-0000-0000-0000-000000000000}\\"));
  CHECK_FALSE(looks_like_volume("disk.img"));
}

// ---- the snapshot record file (vss/vss_records.hpp) ------------------------------------

namespace {

std::vector<SnapshotRecord> two_records() {
  SnapshotRecord a{"{AAAAAAAA-0000-0000-0000-000000000001}",
                   "{5E700000-0000-0000-0000-000000000001}",
                   "C:",
                   "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy7",
                   1764633600,
                   4242,
                   false};
  SnapshotRecord b = a;
  b.snapshot_id = "{AAAAAAAA-0000-0000-0000-000000000002}";
  b.volume = "D:\\mnt\\data";
  b.device_path = "";
  b.pid = 0;
  b.persistent = true;
  return {a, b};
}

bool same(const SnapshotRecord& x, const SnapshotRecord& y) {
  return x.snapshot_id == y.snapshot_id && x.set_id == y.set_id && x.volume == y.volume &&
         x.device_path == y.device_path && x.created_unix == y.created_unix && x.pid == y.pid &&
         x.persistent == y.persistent;
}

// The Error decode_records throws for `bytes` (kind damage), as text; "" if it decodes.
std::string rejection(const std::string& bytes) {
  try {
    decode_records(bytes, "snapshots.tsv");
    return "";
  } catch (const vssimg::Error& e) {
    CHECK(e.kind() == vssimg::ErrorKind::damage);
    return e.what();
  }
}

}  // namespace

TEST_CASE("vss records: round trip, magic, version and checksum", "[vss]") {
  const auto records = two_records();
  const std::string bytes = encode_records(records);
  CHECK(bytes.rfind("VSSIMG-SNAPSHOT-RECORDS 2 ", 0) == 0);
  auto back = decode_records(bytes, "snapshots.tsv");
  REQUIRE(back.size() == 2);
  CHECK(same(back[0], records[0]));
  CHECK(same(back[1], records[1]));
  CHECK(decode_records(encode_records({}), "x").empty());
  // A tab or line break in a field cannot change the shape of the file.
  auto odd = records;
  odd[0].volume = "C:\tbad\nline";
  CHECK(decode_records(encode_records(odd), "x")[0].volume == "C: bad line");
}

TEST_CASE("vss records: a damaged or foreign file is rejected as a whole", "[vss]") {
  const std::string good = encode_records(two_records());
  // Every single flipped byte is found (header or body).
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    CHECK_FALSE(rejection(bad).empty());
  }
  CHECK(rejection(good.substr(0, good.size() - 1)).find("checksum mismatch") != std::string::npos);
  CHECK(rejection("").find("no header line") != std::string::npos);
  // The tab-separated file of earlier builds, and anything else, is foreign.
  CHECK(rejection("# snapshots created by vssimg: id set pid created persistent volume device\n")
            .find("not a vssimg snapshot record") != std::string::npos);
  std::string v3 = good;
  v3.replace(v3.find(" 2 "), 3, " 3 ");
  CHECK(rejection(v3).find("record version 3 is not 2") != std::string::npos);
  CHECK(rejection(good).empty());
}
