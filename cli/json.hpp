// One JSON Lines object, built field by field (docs/json.md lists the fields).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vssimg::cli {

// The body of a JSON string for `text`. Bytes that are not valid UTF-8 (a file name with
// a stray \xff) become U+FFFD, so that every line parses; valid UTF-8 passes unchanged.
std::string json_escape(std::string_view text);

// "2026-11-25T01:00:03Z": RFC 3339, UTC.
std::string rfc3339_utc(int64_t unix_seconds);

class JsonObject {
 public:
  explicit JsonObject(std::string_view type) { add("type", type); }
  JsonObject& add(std::string_view key, std::string_view value);
  JsonObject& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  JsonObject& add(std::string_view key, const std::string& value) {
    return add(key, std::string_view(value));
  }
  JsonObject& add(std::string_view key, uint64_t value);
  JsonObject& add(std::string_view key, int64_t value);
  JsonObject& add(std::string_view key, int value) { return add(key, static_cast<int64_t>(value)); }
  JsonObject& add(std::string_view key, unsigned value) {
    return add(key, static_cast<uint64_t>(value));
  }
  JsonObject& add(std::string_view key, double value);
  // A time: `key` as Unix seconds and `key`_time as RFC 3339 in UTC (docs/json.md).
  JsonObject& add_time(std::string_view key, int64_t unix_seconds);
  JsonObject& add(std::string_view key, bool value);
  // Adds a pre-rendered JSON value (an array or object).
  JsonObject& add_raw(std::string_view key, std::string_view json);
  std::string str() const { return "{" + m_body + "}"; }

 private:
  void key(std::string_view k);
  std::string m_body;
};

// Renders a JSON array of strings.
std::string json_string_array(const std::vector<std::string>& items);

}  // namespace vssimg::cli
