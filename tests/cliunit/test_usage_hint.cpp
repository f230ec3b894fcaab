// Did-you-mean for refused command lines: the edit distance, the nearest name, and the
// message and help that explain_usage_error gives for CLI11's refusals.
#include "cli/usage_hint.hpp"
#include "tests/catch.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace vssimg::cli;

TEST_CASE("edit_distance counts a swap of neighbours as one", "[cli][hint]") {
  CHECK(edit_distance("list", "list") == 0);
  CHECK(edit_distance("lsit", "list") == 1);
  CHECK(edit_distance("snapshots", "snapshot") == 1);
  CHECK(edit_distance("--lable", "--label") == 1);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("nearest_name suggests only a close, unique candidate", "[cli][hint]") {
  const std::vector<std::string> commands{"list",    "show",     "verify",
                                          "restore", "snapshot", "list-writers"};
  CHECK(nearest_name("lsit", commands) == "list");
  CHECK(nearest_name("snapshots", commands) == "snapshot");
  CHECK(nearest_name("verfy", commands) == "verify");
  CHECK(nearest_name("frobnicate", commands).empty());
  CHECK(nearest_name("xy", {"ab", "xa", "ay"}).empty());  // a tie suggests nothing
}

namespace {
struct Fixture {
  CLI::App app{"test"};
  std::string store, label, source;
  Fixture() {
    app.add_option("--store", store);
    app.require_subcommand(1);
    app.fallthrough();
    app.add_subcommand("list", "l");
    auto* backup = app.add_subcommand("backup", "b");
    backup->add_option("--label", label);
    backup->add_option("source", source);
  }
  UsageHint refuse(std::vector<std::string> args) {
    std::reverse(args.begin(), args.end());  // CLI11 takes the arguments reversed
    try {
      app.parse(args);
    } catch (const CLI::ParseError& e) {
      return explain_usage_error(app, e.what());
    }
    FAIL("the command line was accepted");
    return {};
  }
};
}  // namespace

TEST_CASE("an unknown command names the nearest and its --help", "[cli][hint]") {
  Fixture f;
  UsageHint h = f.refuse({"--store", "s", "lsit"});
  CHECK(h.message == "unknown command 'lsit'; did you mean 'list'?");
  CHECK(h.help == "vssimg list --help");
  Fixture g;
  h = g.refuse({"frobnicate"});
  CHECK(h.message == "unknown command 'frobnicate'");
  CHECK(h.help == "vssimg --help");
}

TEST_CASE("a misspelled flag names the nearest option of its command", "[cli][hint]") {
  Fixture f;
  UsageHint h = f.refuse({"backup", "disk.img", "--lable", "x"});
  CHECK(h.message == "unknown option '--lable' for backup; did you mean '--label'?");
  CHECK(h.help == "vssimg backup --help");
  Fixture g;
  h = g.refuse({"backup", "disk.img", "--stroe=s"});
  CHECK(h.message == "unknown option '--stroe' for backup; did you mean '--store'?");
}

TEST_CASE("unexpected arguments are listed in the order typed", "[cli][hint]") {
  Fixture f;
  UsageHint h = f.refuse({"list", "first", "second"});
  CHECK(h.message == "unexpected argument(s) by list: first second");
  CHECK(h.help == "vssimg list --help");
}
