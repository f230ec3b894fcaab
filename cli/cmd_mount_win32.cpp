// `vssimg mount` in the Windows build: FUSE is Linux-only; the native route on Windows is
// a VHDX attached with Mount-DiskImage, which the one error line says.
#include "cli/context.hpp"
#include "core/base/error.hpp"

namespace vssimg::cli {

void add_mount_command(CLI::App& app, CommandTable& table) {
  auto point = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("mount",
                                 "Linux only (FUSE); on Windows use export + "
                                 "Mount-DiskImage");
  sub->add_option("point", *point, "Point id, unique prefix, or 'latest'");
  sub->allow_extras();
  table.add(sub, [point](Context&) -> int {
    throw Error(ErrorKind::usage, "mount", *point,
                "mount is Linux-only (FUSE); on Windows run vssimg export POINT FILE.vhdx, then "
                "Mount-DiskImage -ImagePath FILE.vhdx -Access ReadOnly");
  });
}

}  // namespace vssimg::cli
