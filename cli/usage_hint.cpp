#include "cli/usage_hint.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vssimg::cli {

size_t edit_distance(const std::string& a, const std::string& b) {
  // Optimal string alignment distance, rows of the full table.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string nearest_name(const std::string& typed, const std::vector<std::string>& candidates) {
  const size_t limit = std::max<size_t>(1, typed.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  bool tie = false;
  for (const auto& c : candidates) {
    const size_t distance = edit_distance(typed, c);
    if (distance < best_distance) {
      best = c;
      best_distance = distance;
      tie = false;
    } else if (distance == best_distance && c != best) {
      tie = true;
    }
  }
  return tie ? "" : best;
}

namespace {

// The deepest subcommand CLI11 got to (`app` itself when none), and its path of names
// after "vssimg" ("snapshot delete").
CLI::App* deepest_parsed(CLI::App& app, std::string& path) {
  for (CLI::App* sub : app.get_subcommands({})) {
    if (sub->parsed()) {
      path += (path.empty() ? "" : " ") + sub->get_name();
      return deepest_parsed(*sub, path);
    }
  }
  return &app;
}

// Every spelling of the options of `app` ("--label", "-q").
std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : app.get_options()) {
    for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
    for (const auto& s : opt->get_snames()) names.push_back("-" + s);
  }
  return names;
}

std::string help_of(const std::string& path) {
  return path.empty() ? "vssimg --help" : fmt::format("vssimg {} --help", path);
}

}  // namespace

UsageHint explain_usage_error(CLI::App& app, const std::string& cli11_message) {
  std::string path;
  CLI::App* level = deepest_parsed(app, path);
  const std::vector<std::string> extras = app.remaining();
  const auto word = std::find_if(extras.begin(), extras.end(),
                                 [](const std::string& a) { return a.empty() || a[0] != '-'; });
  const auto subs = level->get_subcommands({});
  if (!subs.empty() && word != extras.end() && extras.front() == *word) {
    std::vector<std::string> names;
    for (const CLI::App* s : subs) names.push_back(s->get_name());
    const std::string what = path.empty() ? "command" : fmt::format("{} command", path);
    const std::string near = nearest_name(*word, names);
    if (near.empty()) return {fmt::format("unknown {} '{}'", what, *word), help_of(path)};
    const std::string full = path.empty() ? near : path + " " + near;
    return {fmt::format("unknown {} '{}'; did you mean '{}'?", what, *word, near), help_of(full)};
  }
  for (const auto& arg : extras) {
    if (arg.size() < 2 || arg[0] != '-') continue;
    const std::string flag = arg.substr(0, arg.find('='));
    std::vector<std::string> names = option_names(*level);
    if (level != &app) {
      const auto globals = option_names(app);
      names.insert(names.end(), globals.begin(), globals.end());
    }
    const std::string near = nearest_name(flag, names);
    const std::string where = path.empty() ? "" : " for " + path;
    return {near.empty()
                ? fmt::format("unknown option '{}'{}", flag, where)
                : fmt::format("unknown option '{}'{}; did you mean '{}'?", flag, where, near),
            help_of(path)};
  }
  if (!extras.empty()) {
    std::string list;
    for (const auto& a : extras) list += (list.empty() ? "" : " ") + a;
    const std::string where = path.empty() ? "" : " by " + path;
    return {fmt::format("unexpected argument(s){}: {}", where, list), help_of(path)};
  }
  return {cli11_message, help_of(path)};
}

}  // namespace vssimg::cli
