// What to tell a user whose command line CLI11 refused: the nearest valid command or
// option to what was typed ("did you mean 'list'?") and which --help to read.
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace vssimg::cli {

// Edit distance between `a` and `b` (insertions, deletions, substitutions and swaps of
// two neighbouring characters each count 1), so that "lsit" is 1 from "list".
size_t edit_distance(const std::string& a, const std::string& b);

// The candidate nearest to `typed`, or "" when none is close enough to be a typo (at
// most a third of the typed length, at least 1, and never a tie between two).
std::string nearest_name(const std::string& typed, const std::vector<std::string>& candidates);

struct UsageHint {
  std::string message;  // the error, naming what was typed and the suggestion
  std::string help;     // the help to read: "vssimg list --help"
};

// Explains a refused command line. `app` is the top level after the failed parse (its
// remaining() arguments are those CLI11 could not place, in command-line order);
// `cli11_message` is CLI11's own text, kept when nothing better can be said.
UsageHint explain_usage_error(CLI::App& app, const std::string& cli11_message);

}  // namespace vssimg::cli
