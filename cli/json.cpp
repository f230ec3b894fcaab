#include "cli/json.hpp"

#include <fmt/format.h>

namespace vssimg::cli {

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  for (unsigned char c : text) {
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
