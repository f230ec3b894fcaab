// The --keep-* flags (cli/keep_flags.hpp) as a command line gives them: which flags
// exist, the policy they give, and the usage errors of bad values.
#include "cli/keep_flags.hpp"
#include "tests/catch.hpp"
#include "tests/cliunit/usage_error.hpp"

#include <CLI/CLI.hpp>

#include <string>

using namespace vssimg;
using namespace vssimg::cli;
using vssimg::test::usage_error;

namespace {

// The policy of `args` given to a subcommand with the keep flags.
RetentionPolicy policy_of(const std::string& args) {
  CLI::App app;
  KeepFlags flags;
  add_keep_flags(&app, flags);
  app.parse(args, false);
  return policy_from_flags(flags);
}

}  // namespace

TEST_CASE("no --keep-* flag gives the empty policy", "[cli][keep]") {
  CHECK(policy_of("").empty());
}

TEST_CASE("every --keep-* flag sets its rule", "[cli][keep]") {
  RetentionPolicy p = policy_of(
      "--keep-last 1 --keep-hourly 2 --keep-daily 3 --keep-weekly 4 --keep-monthly 5 "
      "--keep-yearly 6 --keep-within 1y6mo2d3h");
  CHECK(p.last == 1);
  CHECK(p.hourly == 2);
  CHECK(p.daily == 3);
  CHECK(p.weekly == 4);
  CHECK(p.monthly == 5);
  CHECK(p.yearly == 6);
  CHECK(p.within.str() == "1y6mo2d3h");
}

TEST_CASE("one flag leaves the other rules off", "[cli][keep]") {
  RetentionPolicy p = policy_of("--keep-daily 7 --keep-weekly unlimited");
  CHECK(p.daily == 7);
  CHECK(p.weekly == k_keep_unlimited);
  CHECK(p.last == 0);
  CHECK(p.monthly == 0);
  CHECK(p.within.zero());
  CHECK(p.describe() == "keep 7 daily, all weekly points");
}

TEST_CASE("a bad --keep-* value is a usage error naming the flag", "[cli][keep]") {
  CHECK(usage_error([] {
          policy_of("--keep-monthly seven");
        }).rfind("parsing --keep-monthly: 'seven' is not a count", 0) == 0);
  CHECK(usage_error([] { policy_of("--keep-last 1e3"); }).rfind("parsing --keep-last:", 0) == 0);
  CHECK(usage_error([] {
          policy_of("--keep-within 90s");
        }).rfind("parsing --keep-within: '90s'", 0) == 0);
}

TEST_CASE("--keep-* flags that are all 0 are refused, naming them", "[cli][keep]") {
  CHECK(usage_error([] { policy_of("--keep-daily 0"); }) ==
        "parsing --keep-daily 0: 0 keeps no points of that kind and no other --keep-* rule "
        "keeps any, so nothing would be kept; retention never removes every point: give a "
        "count above 0 (or 'unlimited')");
  CHECK(usage_error([] {
          policy_of("--keep-last 0 --keep-within 0h");
        }).rfind("parsing --keep-last 0 --keep-within 0h: 0 keeps no points", 0) == 0);
  // 0 beside another rule only turns its own rule off.
  RetentionPolicy p = policy_of("--keep-daily 0 --keep-weekly 4");
  CHECK(p.daily == 0);
  CHECK(p.weekly == 4);
}
