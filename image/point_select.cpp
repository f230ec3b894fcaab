#include "image/point_select.hpp"

#include "core/base/error.hpp"
#include "image/point_meta.hpp"
#include "image/store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace vssimg {

namespace {

constexpr size_t k_max_host_name = 253;  // a DNS name's limit
constexpr char k_latest[] = "latest";

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// N of `latest~N` (0 for `latest`); nullopt when `name` is neither. Throws Error(usage)
// for `latest~` followed by anything but a number.
std::optional<size_t> latest_offset(const std::string& name) {
  const std::string_view n(name);
  if (n.substr(0, sizeof k_latest - 1) != k_latest) return std::nullopt;
  std::string_view rest = n.substr(sizeof k_latest - 1);
  if (rest.empty()) return 0;
  auto bad = [&] {
    return Error(ErrorKind::usage, "finding point", name,
                 "not a point name: use latest, latest~N (N points before the newest), an id "
                 "or a unique id prefix");
  };
  if (rest.front() != '~') return std::nullopt;  // an id prefix cannot hold 't'; reported there
  rest.remove_prefix(1);
  if (rest.empty() || rest.size() > 6 || !std::all_of(rest.begin(), rest.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    throw bad();
  }
  return static_cast<size_t>(std::stoul(std::string(rest)));
}

std::string resolve_latest(const std::vector<PointInfo>& points, const std::string& typed,
                           size_t back, const PointFilter& filter) {
  size_t seen = 0;
  for (auto it = points.rbegin(); it != points.rend(); ++it) {
    if (!filter.matches(it->meta)) continue;
    if (seen++ == back) return it->id;
  }
  const std::string what = filter.describe();
  if (seen == 0) {
    throw Error(ErrorKind::usage, "finding point", typed,
                what.empty() ? "the store has no recovery points" : "no recovery point" + what);
  }
  throw Error(
      ErrorKind::usage, "finding point", typed,
      fmt::format("there are only {} recovery point{}{}", seen, seen == 1 ? "" : "s", what));
}

}  // namespace

bool same_host(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string point_host(const PointMeta& meta) {
  return meta.get(point_key::k_host);
}

void check_host_name(const std::string& name, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorKind::usage, "parsing", what, fmt::format("'{}' {}", name, why));
  };
  if (name.empty()) throw bad("is empty; give a host name");
  if (name.size() > k_max_host_name)
    throw bad(fmt::format("is longer than {} characters", k_max_host_name));
  for (char c : name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    if (!ok || static_cast<unsigned char>(c) >= 0x80) {
      throw bad("is not a host name: use letters, digits, '-', '_' and '.'");
    }
  }
  if (name.front() == '-' || name.front() == '.')
    throw bad("is not a host name: it must start with a letter, a digit or '_'");
}

bool is_latest_name(const std::string& name) {
  std::string n = name.substr(0, sizeof k_latest - 1);
  for (auto& c : n) c = lower(c);
  return n == k_latest && (name.size() == n.size() || name[n.size()] == '~');
}

bool PointFilter::matches(const PointMeta& meta) const {
  if (!source.empty() && meta.get(point_key::k_source) != source) return false;
  return host.empty() || same_host(point_host(meta), host);
}

std::string PointFilter::describe() const {
  std::string s;
  if (!source.empty()) s += " of source " + source;
  if (!host.empty()) s += " on host " + host;
  return s;
}

std::string resolve_point_name(const std::vector<PointInfo>& points, const std::string& typed,
                               const PointFilter& filter) {
  // Ids are lower-case hex; a prefix copied in upper case (3CC7) names the same point.
  std::string name = typed;
  for (auto& c : name) c = lower(c);
  if (auto back = latest_offset(name)) return resolve_latest(points, typed, *back, filter);
  std::vector<const PointInfo*> matches;
  for (const auto& p : points) {
    if (!name.empty() && p.id.compare(0, name.size(), name) == 0) matches.push_back(&p);
  }
  if (matches.empty())
    throw Error(ErrorKind::usage, "finding point", typed, "no such recovery point");
  if (matches.size() > 1) {
    throw Error(ErrorKind::usage, "finding point", typed,
                fmt::format("prefix matches {} points; give more digits", matches.size()));
  }
  if (!filter.matches(matches.front()->meta)) {
    throw Error(
        ErrorKind::usage, "finding point", typed,
        fmt::format("point {} is not a recovery point{} (it is of source {} on host {})",
                    matches.front()->id, filter.describe(),
                    matches.front()->meta.get(point_key::k_source),
                    point_host(matches.front()->meta).empty() ? "(none recorded)"
                                                              : point_host(matches.front()->meta)));
  }
  return matches.front()->id;
}

std::string resolve_point(const Store& store, const std::string& typed, const PointFilter& filter) {
  std::vector<std::string> problems;
  auto points = store.list_points(&problems);
  std::string name = typed;
  for (auto& c : name) c = lower(c);
  const bool listed =
      std::any_of(points.begin(), points.end(), [&](const PointInfo& p) { return p.id == name; });
  if (!listed && valid_point_id(name) && store.storage().size(point_object(name))) {
    return name;  // exists but its header is unreadable: let load_point report the damage
  }
  return resolve_point_name(points, typed, filter);
}

}  // namespace vssimg
