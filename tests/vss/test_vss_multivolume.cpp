// Several volumes in one snapshot set, through the CLI's backup-set logic (cli/
// backup_set.hpp) and the real VSS wrapper driven by the fake: one set for D: and E:, a
// point each with the same set id, the writers and components recorded in every point,
// and SetBackupSucceeded/BackupComplete only after both points are committed.
#include "tests/vss/fake_vss.hpp"
#include "tests/win32/win_test_util.hpp"

#include "cli/backup_set.hpp"
#include "cli/context.hpp"
#include "core/base/error.hpp"
#include "core/source/block_source_win32.hpp"
#include "image/restore.hpp"
#include "image/verify.hpp"
#include "tests/catch.hpp"

#include <fmt/format.h>

#include <map>

using namespace vssimg;

namespace {

constexpr uint32_t k_block = 64 * 1024;

struct Fixture {
  test::TempDir dir;
  test::FakeVss fake;
  cli::Context ctx;
  std::map<std::string, std::filesystem::path> images;  // what each volume's shadow copy holds
  std::map<std::string, std::vector<uint8_t>> volumes;
  std::vector<std::string> opened;  // sources in the order they were opened

  Fixture() {
    ctx.global.progress = "never";
    ctx.global.quiet = true;
    ctx.out = std::make_unique<cli::Output>(ctx.global);
    Store::create(dir / "store", k_block);
    // A database with its data on D: and its log on E:, as in the issue.
    fake.writers[0].components = {{L"sales", {L"D:\\Data\\sales.mdf"}, {L"E:\\Logs\\sales.ldf"}}};
    add_volume("D:", 23, 1);
    add_volume("E:", 11, 2);
  }

  void add_volume(const std::string& name, size_t blocks, uint64_t seed) {
    auto data = test::pseudo_random(blocks * k_block + 4096, seed);
    auto path = dir / (name.substr(0, 1) + ".img");
    test::write_file(path, data);
    images[name] = path;
    volumes[name] = std::move(data);
  }

  cli::SnapshotFactory factory() {
    return [this](const std::vector<std::string>& vols, const vss::SnapshotOptions& options,
                  ProgressSink& progress) {
      vss::SnapshotOptions o = options;
      o.wait_slice_seconds = 0.01;
      return vss::create_snapshot(fake.backend(dir / "snapshots.tsv"), vols, o, progress);
    };
  }

  // The fake gives every volume the same device path; each volume's data comes from its
  // own image, read unbuffered with 4 KiB sectors as a real shadow copy device is.
  cli::SourceOpener opener() {
    return [this](const cli::SnapshotSource& s) -> std::unique_ptr<BlockSource> {
      CHECK(s.read_path == win32::narrow(fake.device_path));
      opened.push_back(s.given);
      win32::SourceOptions options;
      options.force_sector_size = 4096;
      return win32::open_source(win32::utf8_path(images.at(s.given)), options);
    };
  }
};

// A shadow copy device that fails every read (a device error in the middle of a set).
class FailingSource final : public BlockSource {
 public:
  std::string name() const override { return "E:"; }
  uint64_t size() const override { return 4 * k_block; }
  void read_at(void*, size_t, uint64_t offset) override {
    throw Error("reading", fmt::format("E: at offset {}", offset), "the device is gone");
  }
};

}  // namespace

TEST_CASE("vss multi-volume: D: and E: in one set, a point each, BackupComplete after both",
          "[vss]") {
  Fixture f;
  cli::BackupVssFlags flags;
  cli::BackupSnapshots snapshots(f.ctx, {"D:", "E:"}, flags, f.factory());
  CHECK(test::count_calls(f.fake.calls, "StartSnapshotSet") == 1);
  CHECK(f.fake.added_volumes.size() == 2);  // both volumes in the one set
  // Both files of the database lie on volumes of the set: the component is included.
  CHECK(f.fake.added_components == std::vector<std::wstring>{L"Instance\\sales"});
  const std::string set_id = snapshots.set_id();
  REQUIRE(set_id.size() == 38);

  Store store(f.dir / "store");
  std::vector<cli::SetPoint> points;
  std::vector<size_t> complete_at_commit;
  cli::run_backup_set(
      f.ctx, store, snapshots, cli::BackupSetOptions{.label = "nightly"}, f.opener(),
      [&](const cli::SetPoint&) {
        complete_at_commit.push_back(test::count_calls(f.fake.calls, "BackupComplete"));
        CHECK(f.fake.succeeded_components.empty());
      },
      points);
  CHECK(complete_at_commit == std::vector<size_t>{0, 0});  // not before both commits
  CHECK(test::count_calls(f.fake.calls, "BackupComplete") == 1);
  CHECK(f.fake.succeeded_components == std::vector<std::wstring>{L"Instance\\sales"});
  CHECK(test::count_calls(f.fake.calls, "AbortBackup") == 0);
  CHECK(f.opened == std::vector<std::string>{"D:", "E:"});

  REQUIRE(points.size() == 2);
  VerifyOptions vo;
  vo.read_data = true;
  CHECK(run_verify(store, vo, null_progress()).ok());
  for (size_t i = 0; i < points.size(); ++i) {
    const std::string volume = i == 0 ? "D:" : "E:";
    CAPTURE(volume);
    Point point = store.load_point(points[i].result.point_id);
    const PointMeta& m = point.meta;
    CHECK(m.get(point_key::k_source) == volume);
    CHECK(m.get(point_key::k_label) == "nightly");
    CHECK(m.get(point_key::k_vss_snapshot_set_id) == set_id);
    CHECK(m.get(point_key::k_consistency) == "application");
    CHECK(m.get(point_key::k_vss_snapshot_id) == snapshots.sources()[i].outcome.snapshot_id);
    auto writers = recorded_writers(m);
    REQUIRE(writers);
    REQUIRE(writers->size() == 1);
    CHECK((*writers)[0].name == "Fake SQL Writer");
    CHECK((*writers)[0].state == 1);
    CHECK((*writers)[0].failure.empty());
    // Every point of the set records the components of the whole set.
    auto components = recorded_components(m);
    REQUIRE(components);
    REQUIRE(components->size() == 1);
    CHECK((*components)[0].writer_name == "Fake SQL Writer");
    CHECK((*components)[0].logical_path == "Instance");
    CHECK((*components)[0].name == "sales");
    auto restored = f.dir / ("restored-" + volume.substr(0, 1) + ".img");
    run_restore(store, point.id, restored, RestoreOptions{}, null_progress());
    CHECK(test::read_file(restored) == f.volumes[volume]);
  }
  CHECK(points[0].result.point_id != points[1].result.point_id);
}

TEST_CASE("vss multi-volume: D: alone leaves the database out; a failing second volume aborts",
          "[vss]") {
  SECTION("D: alone: the component with its log on E: is left out, named, and recorded so") {
    Fixture f;
    cli::BackupSnapshots snapshots(f.ctx, {"D:"}, cli::BackupVssFlags{}, f.factory());
    CHECK(f.fake.added_components.empty());
    CHECK(f.ctx.out->warning_count() == 1);  // "add E: to the backup": exit 3
    Store store(f.dir / "store");
    std::vector<cli::SetPoint> points;
    cli::run_backup_set(
        f.ctx, store, snapshots, {}, f.opener(), [](const cli::SetPoint&) {}, points);
    REQUIRE(points.size() == 1);
    Point point = store.load_point(points[0].result.point_id);
    CHECK(recorded_components(point.meta)->empty());
  }
  SECTION("E: fails after D: is committed: AbortBackup, no SetBackupSucceeded, D: stays") {
    Fixture f;
    Store store(f.dir / "store");
    std::vector<cli::SetPoint> points;
    {
      cli::BackupSnapshots snapshots(f.ctx, {"D:", "E:"}, cli::BackupVssFlags{}, f.factory());
      auto opener = [open =
                         f.opener()](const cli::SnapshotSource& s) -> std::unique_ptr<BlockSource> {
        if (s.given == "E:") return std::make_unique<FailingSource>();
        return open(s);
      };
      CHECK_THROWS_WITH(
          cli::run_backup_set(
              f.ctx, store, snapshots, {}, opener, [](const cli::SetPoint&) {}, points),
          Catch::Contains("the device is gone"));
      CHECK(test::count_calls(f.fake.calls, "AbortBackup") == 0);  // not yet: still alive
    }
    CHECK(test::count_calls(f.fake.calls, "AbortBackup") == 1);
    CHECK(test::count_calls(f.fake.calls, "BackupComplete") == 0);
    CHECK(f.fake.succeeded_components.empty());
    CHECK(f.fake.calls.back() == "Release");
    REQUIRE(points.size() == 1);
    CHECK(store.load_point(points[0].result.point_id).meta.get(point_key::k_source) == "D:");
  }
}
