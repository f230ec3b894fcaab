// The progress display without a console: bar lines fit the width given, a bar is
// cleared before other output, and off a console one plain line every 10 s.
#include "cli/progress_view.hpp"
#include "tests/catch.hpp"

#include <string>
#include <vector>

using namespace vssimg::cli;

namespace {
struct FakeConsole {
  double now = 0;
  int columns = 80;
  std::string out;
  ProgressIo io() {
    return ProgressIo{[this] { return now; }, [this] { return columns; },
                      [this](const std::string& t) { out += t; }};
  }
};
}  // namespace

TEST_CASE("a bar line never reaches the console's last column", "[cli][progress]") {
  const uint64_t gib = 1ull << 30;
  for (int columns : {20, 40, 60, 79, 80, 100, 130, 200}) {
    INFO(columns);
    const std::string line = progress_bar_line("backup", 3 * gib, 7 * gib, 12.5, columns);
    CHECK(line.size() <= static_cast<size_t>(columns - 1));
    CHECK(line.rfind("backup", 0) == 0);
  }
  // A wide console gets the whole bar; 80 columns still show the amounts and the ETA.
  CHECK(progress_bar_line("backup", 3 * gib, 7 * gib, 12.5, 130).find("] ") != std::string::npos);
  const std::string at80 = progress_bar_line("backup", 3 * gib, 7 * gib, 12.5, 80);
  CHECK(at80.find("ETA") != std::string::npos);
  CHECK(at80.find("GiB") != std::string::npos);
}

TEST_CASE("the bar is redrawn in place and cleared to a blank line", "[cli][progress]") {
  FakeConsole c;
  ProgressView view(ProgressStyle::bar, c.io());
  view.begin("restore", 1000);
  c.now = 1;
  view.update(100);
  c.now = 2;
  view.update(900);
  CHECK(c.out.find('\n') == std::string::npos);  // no line is left behind
  const size_t last = c.out.rfind('\r');
  CHECK(c.out.size() - last - 1 <= 79);
  view.clear();
  CHECK(c.out.substr(c.out.size() - 1) == "\r");
  const size_t before = c.out.size();
  view.clear();  // nothing drawn: nothing to erase
  CHECK(c.out.size() == before);
}

TEST_CASE("off a console: one plain line every 10 seconds", "[cli][progress]") {
  FakeConsole c;
  ProgressView view(ProgressStyle::plain, c.io());
  view.begin("backup", 100);
  for (int t = 1; t <= 35; ++t) {
    c.now = t;
    view.update(static_cast<uint64_t>(t));
  }
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = c.out.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(c.out.substr(start, nl - start));
  REQUIRE(lines.size() == 3);  // at 10, 20 and 30 s
  CHECK(lines[0].rfind("backup: 10.0%", 0) == 0);
  CHECK(c.out.find('\r') == std::string::npos);
}

TEST_CASE("progress off draws nothing", "[cli][progress]") {
  FakeConsole c;
  ProgressView view(ProgressStyle::off, c.io());
  view.begin("backup", 100);
  c.now = 100;
  view.update(50);
  CHECK(c.out.empty());
}
