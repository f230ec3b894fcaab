// A whole backup -> verify -> restore through the real VSS wrapper: the fake's shadow
// copy device is an image file, read through the Windows block source.
#include "tests/vss/fake_vss.hpp"
#include "tests/win32/win_test_util.hpp"

#include "core/source/block_source_win32.hpp"
#include "image/backup.hpp"
#include "image/restore.hpp"
#include "image/verify.hpp"
#include "tests/catch.hpp"

using namespace vssimg;

TEST_CASE("vss: backup, verify and restore of a (fake) shadow copy device", "[vss]") {
  test::TempDir dir;
  const uint32_t block = 64 * 1024;
  auto volume = test::pseudo_random(37 * block + 4096, 42);  // a tail smaller than a block
  volume.resize(volume.size() + 8 * block, 0);               // and zero blocks
  auto image = dir / "shadow.img";
  test::write_file(image, volume);
  Store::create(dir / "store", block);
  Store store(dir / "store");

  test::FakeVss fake;
  test::RecordingSink sink;
  fake.device_path = image.native();
  vss::SnapshotOptions options;
  options.wait_slice_seconds = 0.01;
  auto session = vss::create_snapshot(fake.backend(dir / "snapshots.tsv"), {"C:"}, options, sink);
  REQUIRE(session->volumes()[0].device_path == win32::utf8_path(image));

  // Read unbuffered with 4 KiB sectors, as a real shadow copy device is.
  win32::SourceOptions source_options;
  source_options.force_sector_size = 4096;
  auto source = win32::open_source(session->volumes()[0].device_path, source_options);
  BackupOptions bo;
  bo.source_label = "C:";
  bo.snapshot.consistency = Consistency::application;
  bo.snapshot.from_snapshot = true;
  bo.snapshot.snapshot_id = session->volumes()[0].snapshot_id;
  bo.snapshot.backup_type = "copy";
  auto result = run_backup(store, *source, bo, null_progress());
  CHECK(test::count_calls(fake.calls, "BackupComplete") == 0);  // not before the point is committed
  session->complete(true);
  CHECK(test::count_calls(fake.calls, "BackupComplete") == 1);
  CHECK(fake.calls.back() == "Release");

  VerifyOptions vo;
  vo.read_data = true;
  CHECK(run_verify(store, vo, null_progress()).ok());
  Point point = store.load_point(result.point_id);
  CHECK(point.meta.get(point_key::k_vss_snapshot_id) == session->volumes()[0].snapshot_id);
  CHECK(point.meta.get(point_key::k_consistency) == "application");
  CHECK(point.meta.get(point_key::k_source) == "C:");
  auto restored = dir / "restored.img";
  run_restore(store, point.id, restored, RestoreOptions{}, null_progress());
  CHECK(test::read_file(restored) == volume);
}
