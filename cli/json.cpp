#include "cli/json.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>

namespace vssimg::cli {

namespace {

// The length of the valid UTF-8 sequence at text[i] (1 to 4), or 0 when the bytes there
// are not one (a stray continuation byte, a truncated or overlong sequence, a surrogate,
// or a code point above U+10FFFF).
size_t utf8_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xC2 && c <= 0xDF   ? 2
             : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4
                                      : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  const unsigned char d = byte(i + 1);
  if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d > 0x9F) || (c == 0xF0 && d < 0x90) ||
      (c == 0xF4 && d > 0x8F))
    return 0;
  return n;
}

}  // namespace

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t n = utf8_length(text, i);
      if (n == 0) {
        out += "\\ufffd";  // an invalid byte: U+FFFD, so that every line is valid JSON
        ++i;
      } else {
        out.append(text.substr(i, n));
        i += n;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out += static_cast<char>(c);
    }
  }
  return out;
}

std::string rfc3339_utc(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(t));
}

JsonObject& JsonObject::add_time(std::string_view k, int64_t unix_seconds) {
  add(k, unix_seconds);
  return add(std::string(k) + "_time", rfc3339_utc(unix_seconds));
}

void JsonObject::key(std::string_view k) {
  if (!m_body.empty()) m_body += ',';
  m_body += '"';
  m_body += json_escape(k);
  m_body += "\":";
}

JsonObject& JsonObject::add(std::string_view k, std::string_view value) {
  key(k);
  m_body += '"';
  m_body += json_escape(value);
  m_body += '"';
  return *this;
}
JsonObject& JsonObject::add(std::string_view k, uint64_t value) {
  key(k);
  m_body += std::to_string(value);
  return *this;
}
JsonObject& JsonObject::add(std::string_view k, int64_t value) {
  key(k);
  m_body += std::to_string(value);
  return *this;
}
JsonObject& JsonObject::add(std::string_view k, double value) {
  key(k);
  m_body += fmt::format("{:.3f}", value);
  return *this;
}
JsonObject& JsonObject::add(std::string_view k, bool value) {
  key(k);
  m_body += value ? "true" : "false";
  return *this;
}
JsonObject& JsonObject::add_raw(std::string_view k, std::string_view json) {
  key(k);
  m_body += json;
  return *this;
}

std::string json_string_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"' + json_escape(items[i]) + '"';
  }
  return out + "]";
}

}  // namespace vssimg::cli
