#include "core/os/atomic_file.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/os/path.hpp"
#include "core/os/platform.hpp"

#include <system_error>

namespace vssimg {

AtomicFile::AtomicFile(std::filesystem::path final_path, const std::filesystem::path& tmp_dir)
    : m_final(std::move(final_path)) {
  auto rnd = random_bytes(8);
  m_tmp =
      tmp_dir / (path_to_utf8(m_final.filename()) + "." + to_hex(rnd.data(), rnd.size()) + ".tmp");
  m_file = File(m_tmp, File::Open::create_new);
}

AtomicFile::~AtomicFile() {
  if (!m_done) discard();
}

void AtomicFile::commit(bool replace) {
  m_file.sync();
  m_file.close();
  std::error_code ec;
  std::filesystem::create_directories(m_final.parent_path(), ec);
  if (replace) {
    rename_replace(m_tmp, m_final);
  } else if (!rename_no_replace(m_tmp, m_final)) {
    discard();
    throw Error("committing", path_to_utf8(m_final), "file already exists");
  }
  m_done = true;
  sync_directory(m_final.parent_path());
}

void AtomicFile::discard() {
  if (m_done) return;
  m_done = true;
  m_file = File();
  std::error_code ec;
  std::filesystem::remove(m_tmp, ec);
}

}  // namespace vssimg
