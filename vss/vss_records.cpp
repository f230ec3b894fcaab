#include "vss/vss_records.hpp"

#include "core/base/error.hpp"
#include "core/base/hash.hpp"

#include <fmt/format.h>

#include <charconv>

namespace vssimg::vss {

namespace {

[[noreturn]] void damaged(const std::string& name, const std::string& why) {
  throw Error(ErrorKind::damage, "reading snapshot records", name, why);
}

// A field may hold neither a tab nor a line break (they would change the line's shape).
std::string clean(const std::string& field) {
  std::string out = field;
  for (char& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  // Only the spelling the writer produces ("7", never "07" or "-0").
  return ec == std::errc() && end == text.data() + text.size() && fmt::format("{}", out) == text;
}

std::vector<std::string_view> split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t at = line.find(sep, start);
    out.push_back(line.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

SnapshotRecord decode_line(std::string_view line, const std::string& name, size_t number) {
  auto f = split(line, '\t');
  SnapshotRecord r;
  if (f.size() != 7 || !parse_number(f[2], r.pid) || !parse_number(f[3], r.created_unix) ||
      (f[4] != "0" && f[4] != "1") || f[0].empty()) {
    damaged(name, fmt::format("line {} is not a snapshot record", number));
  }
  r.snapshot_id = std::string(f[0]);
  r.set_id = std::string(f[1]);
  r.persistent = f[4] == "1";
  r.volume = std::string(f[5]);
  r.device_path = std::string(f[6]);
  return r;
}

}  // namespace

std::string encode_records(const std::vector<SnapshotRecord>& records) {
  std::string body;
  for (const auto& r : records) {
    body +=
        fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\n", clean(r.snapshot_id), clean(r.set_id), r.pid,
                    r.created_unix, r.persistent ? 1 : 0, clean(r.volume), clean(r.device_path));
  }
  return fmt::format("{} {} {:016x}\n", k_records_magic, k_records_version,
                     checksum64(body.data(), body.size())) +
         body;
}

std::vector<SnapshotRecord> decode_records(std::string_view bytes, const std::string& name) {
  const size_t eol = bytes.find('\n');
  if (eol == std::string_view::npos) damaged(name, "no header line");
  auto header = split(bytes.substr(0, eol), ' ');
  if (header.size() != 3 || header[0] != k_records_magic) {
    damaged(name, "not a vssimg snapshot record (no " + std::string(k_records_magic) + " header)");
  }
  int version = 0;
  if (!parse_number(header[1], version) || version != k_records_version) {
    damaged(name,
            fmt::format("record version {} is not {}", std::string(header[1]), k_records_version));
  }
  const std::string_view body = bytes.substr(eol + 1);
  uint64_t sum = 0;
  auto [end, ec] = std::from_chars(header[2].data(), header[2].data() + header[2].size(), sum, 16);
  // Only the form the writer produces (16 lowercase hex digits): one file, one spelling.
  const bool lowercase = header[2].find_first_of("ABCDEF") == std::string_view::npos;
  if (header[2].size() != 16 || !lowercase || ec != std::errc() || end != header[2].data() + 16 ||
      sum != checksum64(body.data(), body.size())) {
    damaged(name, "checksum mismatch (the file was changed or is damaged)");
  }
  std::vector<SnapshotRecord> records;
  if (!body.empty() && body.back() != '\n') damaged(name, "the last line is cut off");
  size_t start = 0, number = 2;
  while (start < body.size()) {
    size_t at = body.find('\n', start);
    records.push_back(decode_line(body.substr(start, at - start), name, number++));
    start = at + 1;
  }
  return records;
}

}  // namespace vssimg::vss
