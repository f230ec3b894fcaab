#include "image/storage_s3_xml.hpp"

#include "core/base/error.hpp"

#include <functional>

namespace vssimg::s3 {

namespace {

constexpr size_t k_max_depth = 16;
using Leaf = std::function<void(const std::string& path, const std::string& text)>;

// Decodes the five entities and numeric references; false on anything else.
bool decode_entities(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '&') {
      out += in[i];
      continue;
    }
    size_t end = in.find(';', i);
    if (end == std::string_view::npos || end - i > 10) return false;
    std::string_view e = in.substr(i + 1, end - i - 1);
    if (e == "amp")
      out += '&';
    else if (e == "lt")
      out += '<';
    else if (e == "gt")
      out += '>';
    else if (e == "quot")
      out += '"';
    else if (e == "apos")
      out += '\'';
    else if (e.size() > 1 && e[0] == '#') {
      bool hexa = e[1] == 'x';
      unsigned long v = 0;
      for (char c : e.substr(hexa ? 2 : 1)) {
        int d = (c >= '0' && c <= '9')                       ? c - '0'
                : hexa && (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10
                                                             : -1;
        if (d < 0) return false;
        v = v * (hexa ? 16 : 10) + static_cast<unsigned long>(d);
      }
      if (v == 0 || v > 0x7f) return false;  // S3 keys here are ASCII
      out += static_cast<char>(v);
    } else {
      return false;
    }
    i = end;
  }
  return true;
}

// Skips a declaration, comment or processing instruction at `i` ('<' followed by '?' or
// '!'); false when it does not end.
bool skip_special(std::string_view x, size_t& i) {
  const char* close = x.compare(i, 4, "<!--") == 0 ? "-->" : ">";
  size_t end = x.find(close, i + 2);
  if (end == std::string_view::npos) return false;
  i = end + std::char_traits<char>::length(close);
  return true;
}

// Calls `leaf` with the slash-joined element path and decoded text of every element that
// holds text only. False when the bytes are not well-formed enough to trust.
bool scan(std::string_view x, const Leaf& leaf) {
  std::vector<std::string> stack;
  std::string text, decoded;
  size_t i = 0;
  while (i < x.size()) {
    if (x[i] != '<') {
      text += x[i++];
      continue;
    }
    if (i + 1 < x.size() && (x[i + 1] == '?' || x[i + 1] == '!')) {
      if (!skip_special(x, i)) return false;
      continue;
    }
    size_t end = x.find('>', i);
    if (end == std::string_view::npos) return false;
    std::string_view tag = x.substr(i + 1, end - i - 1);
    i = end + 1;
    if (!tag.empty() && tag[0] == '/') {
      if (stack.empty() || stack.back() != tag.substr(1)) return false;
      std::string path;
      for (const auto& s : stack) path += (path.empty() ? "" : "/") + s;
      if (!decode_entities(text, decoded)) return false;
      leaf(path, decoded);
      stack.pop_back();
    } else {
      bool empty = !tag.empty() && tag.back() == '/';
      std::string_view name = tag.substr(0, tag.find_first_of(" \t\r\n/"));
      if (name.empty()) return false;
      if (!empty) stack.emplace_back(name);
      if (stack.size() > k_max_depth) return false;
    }
    text.clear();
  }
  return stack.empty();
}

bool parse_u64(const std::string& s, uint64_t& v) {
  if (s.empty() || s.size() > 19) return false;
  v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// The decimal number of `text[pos, pos+len)`, or -1.
int64_t digits(std::string_view text, size_t pos, size_t len) {
  if (pos + len > text.size()) return -1;
  int64_t v = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    v = v * 10 + (text[i] - '0');
  }
  return v;
}

}  // namespace

int64_t parse_iso8601(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS, then optional .fraction, then Z.
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' ||
      t.back() != 'Z') {
    return -1;
  }
  const int64_t y = digits(t, 0, 4), mo = digits(t, 5, 2), d = digits(t, 8, 2);
  const int64_t h = digits(t, 11, 2), mi = digits(t, 14, 2), s = digits(t, 17, 2);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      s < 0 || s > 60) {
    return -1;
  }
  if (t.size() > 20 &&
      (t[19] != '.' || t.size() < 22 || t.size() > 40 || digits(t, 20, t.size() - 21) < 0))
    return -1;
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

ListPage parse_list_page(std::string_view xml, const std::string& object) {
  ListPage page;
  bool ok = true, root = false;
  std::string key;
  int64_t modified = -1;
  auto leaf = [&](const std::string& path, const std::string& text) {
    root = root || path == "ListBucketResult";
    if (path == "ListBucketResult/Contents/Key") {
      key = text;
    } else if (path == "ListBucketResult/Contents/LastModified") {
      modified = parse_iso8601(text);
    } else if (path == "ListBucketResult/Contents/Size") {
      uint64_t n = 0;
      ok = ok && parse_u64(text, n) && !key.empty();
      if (ok) page.objects.emplace_back(key, n);
      if (ok) page.modified.push_back(modified);
      key.clear();
      modified = -1;
    } else if (path == "ListBucketResult/CommonPrefixes/Prefix") {
      page.prefixes.push_back(text);
    } else if (path == "ListBucketResult/IsTruncated") {
      page.truncated = text == "true";
    } else if (path == "ListBucketResult/NextContinuationToken") {
      page.next_token = text;
    }
  };
  if (!scan(xml, leaf) || !ok || !root || (page.truncated && page.next_token.empty())) {
    throw Error("listing", object, "the server's answer is not a ListObjectsV2 result");
  }
  return page;
}

S3Error parse_error(std::string_view xml) {
  S3Error e;
  bool ok = scan(xml, [&](const std::string& path, const std::string& text) {
    if (path == "Error/Code") e.code = text;
    if (path == "Error/Message") e.message = text;
  });
  if (!ok) return {};
  return e;
}

std::vector<std::pair<std::string, std::string>> parse_delete_errors(std::string_view xml,
                                                                     const std::string& object) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string key;
  bool root = false;
  bool ok = scan(xml, [&](const std::string& path, const std::string& text) {
    root = root || path == "DeleteResult";
    if (path == "DeleteResult/Error/Key") key = text;
    if (path == "DeleteResult/Error/Code") out.emplace_back(key, text);
  });
  if (!ok || !root) throw Error("deleting", object, "the server's answer is not a DeleteResult");
  return out;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace vssimg::s3
