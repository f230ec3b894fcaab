// A source that gets shorter while a backup reads it: the error says the source changed
// and to back up a snapshot, never to skip the blocks as bad sectors.
#include "core/base/error.hpp"
#include "core/source/block_source.hpp"
#include "image/backup.hpp"
#include "image/store.hpp"
#include "tests/catch.hpp"
#include "tests/helpers.hpp"

#include <filesystem>
#include <string>

using namespace vssimg;

TEST_CASE("a source that shrinks while read says to use a snapshot", "[cli][source]") {
  test::TempDir dir;
  const uint32_t bs = 64 * 1024;
  Store::create(dir / "store", bs);
  Store store(dir / "store");
  const auto image = dir / "vol.img";
  test::write_file(image, test::pseudo_random(16 * bs, 7));
  auto source = open_block_source(image.string());
  std::filesystem::resize_file(image, 4 * bs);  // the live source changes under the reader
  BackupOptions opts;
  opts.threads = 1;
  std::string message;
  try {
    run_backup(store, *source, opts, null_progress());
  } catch (const Error& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(message.find("changed while being read") != std::string::npos);
  CHECK(message.find("snapshot") != std::string::npos);
  CHECK(message.find("--ignore-bad-sectors") == std::string::npos);
}
