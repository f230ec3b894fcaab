// `vssimg extract POINT PATH... --target DIR`: files and folders of a point's filesystem
// written below DIR with their modification and access times, without restoring the
// volume. Each file is written under a temporary name and renamed when complete, so an
// interrupted or failed run never leaves a half file under a real name; holes of sparse
// files are not written (sparse where the target filesystem allows).
#include "cli/lock_options.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/local_files.hpp"
#include "cli/tree_path.hpp"
#include "core/base/error.hpp"
#include "core/os/file.hpp"

#include <fmt/format.h>

#include <chrono>
#include <set>
#include <system_error>

namespace vssimg::cli {

namespace {

namespace fs = std::filesystem;

constexpr unsigned k_max_depth = 256;

struct ExtractOptions {
  std::string point;
  std::vector<std::string> paths;
  std::string target;
  bool force = false;
};

struct ExtractStats {
  uint64_t files = 0;
  uint64_t directories = 0;
  uint64_t bytes = 0;          // file sizes
  uint64_t bytes_written = 0;  // data written (holes excluded)
  uint64_t skipped = 0;
};

class Extractor {
 public:
  Extractor(Context& ctx, FileTree& tree, bool force) : m_ctx(ctx), m_tree(tree), m_force(force) {}

  // `named`: the user named this entry (refusals are errors, not warnings).
  void entry(const TreeEntry& e, const std::string& stream, const fs::path& out,
             const std::string& shown, unsigned depth, bool named) {
    check_interrupted();
    if (e.type == EntryType::directory && stream.empty()) return directory(e, out, shown, depth);
    if (e.type == EntryType::file || !stream.empty()) {
      if (!e.encrypted) return file(e, stream, out, shown);
      if (named) {
        throw Error(ErrorKind::usage, "extracting", shown,
                    "the file is EFS-encrypted; its contents cannot be read without the key");
      }
      return skip(shown, "EFS-encrypted, not extracted");
    }
    const std::string what = e.link_target.empty() ? "" : " to " + e.link_target;
    skip(shown, fmt::format("{}{} not followed, not extracted", entry_type_name(e.type), what));
  }

  const ExtractStats& stats() const { return m_stats; }

 private:
  void skip(const std::string& shown, const std::string& why) {
    m_ctx.out->warning(fmt::format("extract {}: {}", shown, why));
    ++m_stats.skipped;
  }

  void refuse_existing(const fs::path& out) {
    std::error_code ec;
    if (!m_force && fs::symlink_status(out, ec).type() != fs::file_type::not_found) {
      throw Error(ErrorKind::usage, "extracting to", out.string(),
                  "exists; use --force to replace it");
    }
  }

  void file(const TreeEntry& e, const std::string& stream, const fs::path& out,
            const std::string& shown) {
    refuse_existing(out);
    const fs::path tmp = out.parent_path() / ("." + out.filename().string() + ".vssimg-partial");
    uint64_t end = stream.empty() ? e.size : 0;
    try {
      File f(tmp, File::Open::create_trunc);
      m_tree.read(e, stream, [&](uint64_t offset, const uint8_t* data, size_t len) {
        f.write_at(data, len, offset);
        m_stats.bytes_written += len;
        end = std::max(end, offset + len);
      });
      f.resize(end);
      f.close();
      set_file_times(tmp, e.accessed_ns, e.modified_ns);
      if (m_force) {
        rename_replace(tmp, out);
      } else if (!rename_no_replace(tmp, out)) {
        throw Error(ErrorKind::usage, "extracting to", out.string(),
                    "exists; use --force to replace it");
      }
    } catch (const Error&) {
      std::error_code ec;
      fs::remove(tmp, ec);
      rethrow_at("extracting", shown);
    }
    ++m_stats.files;
    m_stats.bytes += end;
  }

  void directory(const TreeEntry& e, const fs::path& out, const std::string& shown,
                 unsigned depth) {
    if (depth > k_max_depth || !m_active.insert(e.id).second)
      return skip(shown, "directory nested too deep or inside itself");
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec || !fs::is_directory(out, ec))
      throw Error("extracting to", out.string(), "cannot create the directory");
    std::vector<TreeEntry> children;
    try {
      children = m_tree.list(e);
    } catch (const Error&) {
      rethrow_at("listing", shown);
    }
    for (const TreeEntry& child : children) {
      const bool ends_in_separator =
          !shown.empty() && (shown.back() == '/' || shown.back() == '\\');
      const std::string child_shown = shown + (ends_in_separator ? "" : "/") + child.name;
      if (!is_safe_name(child.name)) {
        skip(child_shown, "name not usable as a local file name");
        continue;
      }
      entry(child, "", out / fs::u8path(child.name), child_shown, depth + 1, false);
    }
    m_active.erase(e.id);
    set_file_times(out, e.accessed_ns, e.modified_ns);
    ++m_stats.directories;
  }

  Context& m_ctx;
  FileTree& m_tree;
  const bool m_force;
  ExtractStats m_stats;
  std::set<uint64_t> m_active;  // directories being extracted, against loops
};

// Every path resolved before anything is written: a mistyped one fails the run early.
std::vector<std::pair<TreePath, TreeEntry>> resolve_all(FileTree& tree,
                                                        const std::vector<std::string>& paths) {
  std::vector<std::pair<TreePath, TreeEntry>> out;
  for (const std::string& text : paths) {
    TreePath p = parse_tree_path(text, tree.filesystem() == "NTFS");
    std::optional<TreeEntry> e;
    try {
      e = tree.lookup(p.components);
    } catch (const Error&) {
      rethrow_at("looking up", text);
    }
    if (!e) throw Error(ErrorKind::usage, "extracting", text, "no such file or directory");
    out.emplace_back(std::move(p), std::move(*e));
  }
  return out;
}

int run_extract(Context& ctx, const ExtractOptions& opts) {
  const auto started = std::chrono::steady_clock::now();
  OpenedTree opened(ctx.store_path(), opts.point, "extract", lock_options(ctx, StoreAccess::read));
  FileTree& tree = opened.tree();
  auto targets = resolve_all(tree, opts.paths);
  const fs::path target = fs::u8path(opts.target);
  std::error_code ec;
  fs::create_directories(target, ec);
  if (!fs::is_directory(target, ec))
    throw Error(ErrorKind::usage, "extracting to", opts.target, "not a directory");
  Extractor x(ctx, tree, opts.force);
  for (const auto& [path, entry] : targets) {
    std::string name = path.components.empty() ? "" : entry.name;
    if (!path.stream.empty()) name += ":" + path.stream;
    x.entry(entry, path.stream, name.empty() ? target : target / fs::u8path(name), path.text, 0,
            true);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const size_t fallbacks = opened.report(ctx.out->progress());
  const ExtractStats& s = x.stats();
  const PointSourceStats read = opened.stats();
  ctx.out->text(fmt::format(
      "extracted {} files, {} folders, {} from point {} to {} in {:.2f} s "
      "({} read from the store){}",
      s.files, s.directories, human_bytes(s.bytes), opened.point().id, opts.target, seconds,
      human_bytes(read.stored_bytes), s.skipped ? fmt::format("; {} skipped", s.skipped) : ""));
  ctx.summary.add("point", opened.point().id)
      .add("filesystem", tree.filesystem())
      .add("target", opts.target)
      .add("files", s.files)
      .add("directories", s.directories)
      .add("bytes", s.bytes)
      .add("bytes_written", s.bytes_written)
      .add("skipped", s.skipped)
      .add("bytes_read", read.stored_bytes)
      .add("blocks_read", read.blocks_decoded)
      .add("copies_fallen_back", uint64_t{fallbacks})
      .add("seconds", seconds);
  return exit_code_for_warnings(ctx.out->warning_count());
}

}  // namespace

void add_extract_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<ExtractOptions>();
  auto* sub = app.add_subcommand("extract", "Copy files and folders out of an NTFS or ext point");
  sub->add_option("point", opts->point, "Point id, unique prefix, or 'latest'")->required();
  sub->add_option("paths", opts->paths,
                  "Files or folders inside the volume (C:\\Users\\x\\a.txt, \\Users\\x or "
                  "/Users/x; NTFS streams as a.txt:NAME)")
      ->required();
  sub->add_option("--target", opts->target, "Directory to write them into (created if missing)")
      ->required();
  sub->add_flag("--force", opts->force, "Replace files that already exist in the target");
  table.add(sub, [opts](Context& ctx) { return run_extract(ctx, *opts); });
}

}  // namespace vssimg::cli
