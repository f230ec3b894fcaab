// The flag-value parsers of cli/parse.hpp: what each grammar accepts, what it refuses,
// and the messages a user sees for a bad value.
#include "cli/parse.hpp"
#include "tests/catch.hpp"
#include "tests/cliunit/usage_error.hpp"

#include <string>

using namespace vssimg;
using namespace vssimg::cli;
using vssimg::test::usage_error;

TEST_CASE("parse_size takes digits with a binary suffix in any case", "[cli][parse]") {
  CHECK(parse_size("65536", "x") == 65536);
  CHECK(parse_size("0", "x") == 0);
  CHECK(parse_size("7B", "x") == 7);
  CHECK(parse_size("256K", "x") == 256 * 1024);
  CHECK(parse_size("256k", "x") == 256 * 1024);
  CHECK(parse_size("64KB", "x") == 64 * 1024);
  CHECK(parse_size("64kib", "x") == 64 * 1024);
  CHECK(parse_size("1M", "x") == 1024 * 1024);
  CHECK(parse_size("4MiB", "x") == 4 * 1024 * 1024);
  CHECK(parse_size("2mb", "x") == 2 * 1024 * 1024);
  CHECK(parse_size("3G", "x") == 3ull * 1024 * 1024 * 1024);
  CHECK(parse_size("1GiB", "x") == 1024ull * 1024 * 1024);
  CHECK(parse_size("999999999999", "x") == 999999999999ull);
}

TEST_CASE("parse_size refuses anything else, naming the flag", "[cli][parse]") {
  for (const char* bad : {"", "K", "1.5M", "1 K", " 1K", "1T", "1Ki", "-1", "+1", "12x", "1KK",
                          "0x10", "1234567890123"}) {
    INFO(bad);
    CHECK(usage_error([&] { parse_size(bad, "--block-size"); }) ==
          std::string("parsing --block-size: '") + bad + "' is not a size like 256K or 1M");
  }
}

TEST_CASE("parse_subset takes N/T with 1 <= N <= T <= 10000", "[cli][parse]") {
  CHECK(parse_subset("3/7") == std::pair<unsigned, unsigned>{3, 7});
  CHECK(parse_subset("1/1") == std::pair<unsigned, unsigned>{1, 1});
  CHECK(parse_subset("10000/10000") == std::pair<unsigned, unsigned>{10000, 10000});
  for (const char* bad :
       {"", "3", "3/", "/7", "0/7", "8/7", "3-7", "3/7x", "3/7/9", "1/10001", "a/b"}) {
    INFO(bad);
    CHECK(usage_error([&] { parse_subset(bad); }) ==
          std::string("parsing --subset: '") + bad + "' is not N/T with 1 <= N <= T");
  }
}

TEST_CASE("parse_max_duration: d, h, min and s, as seconds", "[cli][parse]") {
  CHECK(parse_max_duration("1h30min") == 5400);
  CHECK(parse_max_duration("45min") == 2700);
  CHECK(parse_max_duration("90s") == 90);
  CHECK(parse_max_duration("2h") == 7200);
  CHECK(parse_max_duration("1d") == 86400);
  CHECK(parse_max_duration("1h1min1s") == 3661);
  CHECK(parse_max_duration("0h5min") == 300);
  CHECK(parse_max_duration("30min30min") == 3600);
  CHECK(parse_max_duration("999999s") == 999999);
  for (const char* bad :
       {"", "5", "h", "1.5h", "1h 30min", "-5min", "1H", "1234567s", "5mi", "5minutes"}) {
    INFO(bad);
    const std::string msg = usage_error([&] { parse_max_duration(bad); });
    CHECK(msg.rfind(std::string("parsing --max-duration: '") + bad + "' ", 0) == 0);
    CHECK(msg.find("units d h min s") != std::string::npos);
  }
  CHECK(usage_error([] { parse_max_duration("0h0min"); }) ==
        "parsing --max-duration: '0h0min' is zero; give a time budget like 2h or 45min");
  CHECK(usage_error([] { parse_max_duration("1y"); }).find("'y', which --max-duration does not") !=
        std::string::npos);
}

TEST_CASE("one duration grammar: a bare m is refused by both flags", "[cli][parse]") {
  // It meant 30 minutes in --max-duration and 30 months in --keep-within.
  for (const char* flag : {"--max-duration", "--keep-within"}) {
    INFO(flag);
    const std::string msg = usage_error([&] {
      if (std::string(flag) == "--max-duration")
        parse_max_duration("30m");
      else
        parse_keep_within("30m");
    });
    CHECK(msg.rfind(std::string("parsing ") + flag +
                        ": '30m' uses 'm', which could be minutes or "
                        "months; write min or mo",
                    0) == 0);
  }
  CHECK(parse_max_duration("30min") == 1800);
  CHECK(parse_keep_within("30mo").months == 30);
}

TEST_CASE("parse_keep_within: the calendar units y, mo, d, h", "[cli][parse]") {
  RetentionDuration d = parse_keep_within("1y6mo2d3h");
  CHECK(d.years == 1);
  CHECK(d.months == 6);
  CHECK(d.days == 2);
  CHECK(d.hours == 3);
  CHECK(d.str() == "1y6mo2d3h");
  for (const char* bad : {"", "90s", "5min", "2w", "1.5d", "d", "1y6m"}) {
    INFO(bad);
    const std::string msg = usage_error([&] { parse_keep_within(bad); });
    CHECK(msg.rfind(std::string("parsing --keep-within: '") + bad + "' ", 0) == 0);
  }
}

TEST_CASE("parse_percent, --max-unused and --repack-threshold", "[cli][parse]") {
  CHECK(parse_percent("5%") == 0.05);
  CHECK(parse_percent("2.5%") == 0.025);
  CHECK(parse_percent("100%") == 1.0);
  for (const char* bad : {"", "%", "5", "101%", "1.2.3%", "-5%", "5 %", "123456789%"}) {
    INFO(bad);
    CHECK_FALSE(parse_percent(bad).has_value());
  }
  CHECK(parse_max_unused("unlimited").kind == UnusedLimit::Kind::unlimited);
  CHECK(parse_max_unused("10%").share == 0.10);
  const UnusedLimit bytes = parse_max_unused("100M");
  CHECK(bytes.kind == UnusedLimit::Kind::bytes);
  CHECK(bytes.bytes == 100u << 20);
  CHECK(usage_error([] { parse_max_unused("5.%x"); }).find("parsing --max-unused") == 0);
  CHECK(usage_error([] { parse_max_unused("lots"); }).find("parsing --max-unused") == 0);
  CHECK(parse_repack_threshold("off") == 1.0);
  CHECK(parse_repack_threshold("50") == 0.5);
  CHECK(parse_repack_threshold("0%") == 0.0);
  CHECK(usage_error([] { parse_repack_threshold("half"); }) ==
        "parsing --repack-threshold: 'half' is not a percentage from 0% to 100%");
}
