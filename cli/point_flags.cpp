#include "cli/point_flags.hpp"

#include "cli/context.hpp"

namespace vssimg::cli {

void add_point_filter_flags(CLI::App* sub, PointFilterFlags& flags, FilterUse use) {
  if (use == FilterUse::named) {
    sub->add_option("--source", flags.source,
                    "With 'latest': the newest point of this source (an id must be of it too)");
    sub->add_option("--host", flags.host,
                    "With 'latest': the newest point made on this host (host names ignore "
                    "case; an id must be of it too)");
  } else {
    sub->add_option("--source", flags.source, "Only points of this source");
    sub->add_option("--host", flags.host, "Only points made on this host (ignoring case)");
  }
}

PointFilter point_filter(const PointFilterFlags& flags) {
  PointFilter f;
  if (!flags.source.empty()) f.source = normalize_source(flags.source);
  if (!flags.host.empty()) {
    check_host_name(flags.host, "--host");
    f.host = flags.host;
  }
  return f;
}

}  // namespace vssimg::cli
