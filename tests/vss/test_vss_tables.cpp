// The HRESULT and writer-state tables (platform-neutral).
#include "vss/vss.hpp"

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
