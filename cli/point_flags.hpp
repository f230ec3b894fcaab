// The --source and --host flags that select points (list, show, restore, verify, forget,
// export, mount): one set of flags, one PointFilter they give (image/point_select.hpp).
#pragma once

#include "image/point_select.hpp"

#include <CLI/CLI.hpp>

#include <string>

namespace vssimg::cli {

// The flag values as typed; checked when the command runs (point_filter), so that a bad
// value is an error of the run, logged like every other.
struct PointFilterFlags {
  std::string source;
  std::string host;
};

// How the flags select: `named` for commands that take a point name (`latest` is the
// newest point they select; an id must be one of them), `all` for commands that act on
// every point they select.
enum class FilterUse { named, all };

void add_point_filter_flags(CLI::App* sub, PointFilterFlags& flags, FilterUse use);
// The filter the flags give: the source normalised as backup records it, the host
// checked (check_host_name). Throws Error(usage) naming --host.
PointFilter point_filter(const PointFilterFlags& flags);

}  // namespace vssimg::cli
