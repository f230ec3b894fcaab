// Which recovery points a command is about: the one place that matches points by source
// and host and resolves a point name (`latest`, `latest~N`, an id or a unique prefix).
// A point's identity is its host and source (docs/format.md, "Point file": `host`).
#pragma once

#include "image/point.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace vssimg {

class Store;

// Host names compare without regard to ASCII case (DNS names do; Windows reports its
// name in upper or lower case depending on the API). A point without a `host` key (or
// with an empty one) has the host "", equal only to another "".
bool same_host(std::string_view a, std::string_view b);
// The host a point records ("" when it records none).
std::string point_host(const PointMeta& meta);

// Checks a host name given on the command line (`backup --host`, `--host` filters):
// 1 to 253 bytes of ASCII letters, digits, '-', '_' and '.', not starting with '-' or
// '.'. Throws Error(usage) naming `what` (the flag) otherwise.
void check_host_name(const std::string& name, const std::string& what);

// A selection of points by source and host; an empty field selects any.
struct PointFilter {
  std::string source;  // as recorded (callers normalise what the user typed)
  std::string host;
  bool matches(const PointMeta& meta) const;
  // " of source S on host H", " of source S", " on host H", or "".
  std::string describe() const;
};

// True for `latest` and `latest~N` (any case), the names the filter chooses among.
bool is_latest_name(const std::string& name);

// Resolves `name` among `points` (oldest first, as Store::list_points gives them):
// `latest` is the newest point the filter selects, `latest~N` the one N before it; an id
// or a unique id prefix (hex in either case) names a point, which must then also match
// the filter. Throws Error(usage) naming the point when nothing or several match.
std::string resolve_point_name(const std::vector<PointInfo>& points, const std::string& name,
                               const PointFilter& filter);
// The same over the store's points; a point whose header is unreadable is still named by
// its full id (so that loading it reports the damage).
std::string resolve_point(const Store& store, const std::string& name,
                          const PointFilter& filter = {});

}  // namespace vssimg
