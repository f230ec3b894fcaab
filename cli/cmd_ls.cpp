// `vssimg ls POINT [PATH]`: the entries of a directory of a point's filesystem (or the
// one entry PATH names), read through the store without restoring the volume.
#include "cli/lock_options.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/tree_path.hpp"
#include "core/base/error.hpp"

#include <fmt/format.h>

#include <set>

namespace vssimg::cli {

namespace {

constexpr unsigned k_max_depth = 256;

struct LsOptions {
  std::string point;
  std::string path;
  bool long_format = false;
  bool recursive = false;
};

// "RHSA-C-E" style: one letter per FILE_ATTRIBUTE_* bit set, or the POSIX mode on ext.
std::string attribute_letters(const TreeEntry& e) {
  if (e.mode != 0) {
    std::string s = "---------";
    const char* rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; ++i) {
      if (e.mode & (0400u >> i)) s[static_cast<size_t>(i)] = rwx[i];
    }
    return s;
  }
  static const std::pair<uint32_t, char> bits[] = {
      {0x1, 'R'},   {0x2, 'H'},   {0x4, 'S'},    {0x20, 'A'},   {0x200, 'P'},
      {0x400, 'L'}, {0x800, 'C'}, {0x1000, 'O'}, {0x4000, 'E'}, {0x2000, 'I'}};
  std::string s;
  for (const auto& [bit, letter] : bits) s += (e.attributes & bit) ? letter : '-';
  return s;
}

char type_letter(EntryType t) {
  switch (t) {
    case EntryType::directory:
      return 'd';
    case EntryType::symlink:
      return 'l';
    case EntryType::reparse_point:
      return 'j';
    case EntryType::file:
      return '-';
    case EntryType::other:
      break;
  }
  return '?';
}

void print_entry(Context& ctx, const LsOptions& opts, const std::string& path, const TreeEntry& e) {
  if (ctx.out->json()) {
    JsonObject r("entry");
    r.add("path", path)
        .add("name", e.name)
        .add("entry_type", entry_type_name(e.type))
        .add("id", e.id)
        .add("size", e.size)
        .add("modified_ns", e.modified_ns)
        .add("accessed_ns", e.accessed_ns)
        .add("changed_ns", e.changed_ns)
        .add("created_ns", e.created_ns)
        .add("attributes", uint64_t{e.attributes})
        .add("mode", uint64_t{e.mode})
        .add("links", uint64_t{e.link_count})
        .add_raw("streams", json_string_array(e.streams))
        .add("compressed", e.compressed)
        .add("sparse", e.sparse)
        .add("encrypted", e.encrypted);
    if (!e.link_target.empty()) r.add("target", e.link_target);
    ctx.out->record(r);
    return;
  }
  std::string shown = path.empty() ? "/" : path;
  if (e.type == EntryType::directory && !path.empty()) shown += '/';
  if (!e.link_target.empty()) shown += " -> " + e.link_target;
  if (!opts.long_format) {
    ctx.out->text(shown);
    return;
  }
  ctx.out->text(fmt::format("{}{} {:>14} {} {}", type_letter(e.type), attribute_letters(e), e.size,
                            local_time(e.modified_ns / 1000000000), shown));
}

struct Counts {
  uint64_t entries = 0;
  uint64_t directories = 0;
};

void list_into(Context& ctx, const LsOptions& opts, FileTree& tree, const TreeEntry& dir,
               const std::string& prefix, unsigned depth, std::set<uint64_t>& seen,
               Counts& counts) {
  if (depth > k_max_depth || !seen.insert(dir.id).second) {
    ctx.out->warning(fmt::format("ls {}: directory nested too deep or reached twice; not listed",
                                 prefix.empty() ? "/" : prefix));
    return;
  }
  std::vector<TreeEntry> entries;
  try {
    entries = tree.list(dir);
  } catch (const Error&) {
    rethrow_at("listing", prefix.empty() ? "/" : prefix);
  }
  for (const TreeEntry& e : entries) {
    const std::string path = prefix.empty() ? e.name : prefix + "/" + e.name;
    print_entry(ctx, opts, path, e);
    ++counts.entries;
    if (e.type != EntryType::directory) continue;
    ++counts.directories;
    if (opts.recursive) list_into(ctx, opts, tree, e, path, depth + 1, seen, counts);
  }
}

int run_ls(Context& ctx, const LsOptions& opts) {
  OpenedTree opened(ctx.store_path(), opts.point, "ls", lock_options(ctx, StoreAccess::read));
  FileTree& tree = opened.tree();
  const bool ntfs = tree.filesystem() == "NTFS";
  TreePath where = parse_tree_path(opts.path.empty() ? "/" : opts.path, ntfs);
  std::optional<TreeEntry> start;
  try {
    start = tree.lookup(where.components);
  } catch (const Error&) {
    rethrow_at("looking up", where.text);
  }
  if (!start) throw Error(ErrorKind::usage, "listing", where.text, "no such file or directory");
  Counts counts;
  const std::string prefix = join_components(where.components);
  if (start->type == EntryType::directory && where.stream.empty()) {
    std::set<uint64_t> seen;
    list_into(ctx, opts, tree, *start, prefix, 0, seen, counts);
  } else {
    // The name as the volume spells it (the lookup ignored case).
    std::vector<std::string> shown = where.components;
    if (!shown.empty()) shown.back() = start->name;
    print_entry(ctx, opts, join_components(shown), *start);
    counts.entries = 1;
  }
  const size_t fallbacks = opened.report(ctx.out->progress());
  const PointSourceStats stats = opened.stats();
  ctx.summary.add("point", opened.point().id)
      .add("filesystem", tree.filesystem())
      .add("path", where.text)
      .add("entries", counts.entries)
      .add("directories", counts.directories)
      .add("bytes_read", stats.stored_bytes)
      .add("blocks_read", stats.blocks_decoded)
      .add("copies_fallen_back", uint64_t{fallbacks});
  return exit_code_for_warnings(ctx.out->warning_count());
}

}  // namespace

void add_ls_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<LsOptions>();
  auto* sub = app.add_subcommand("ls", "List files and folders of an NTFS or ext point");
  sub->add_option("point", opts->point, "Point id, unique prefix, or 'latest'")->required();
  sub->add_option("path", opts->path,
                  "Folder or file inside the volume (C:\\Users\\x, \\Users\\x or /Users/x); "
                  "default: the root");
  sub->add_flag("-l,--long", opts->long_format, "Type, attributes, size and modification time");
  sub->add_flag("-r,--recursive", opts->recursive, "Also list every folder below");
  table.add(sub, [opts](Context& ctx) { return run_ls(ctx, *opts); });
}

}  // namespace vssimg::cli
