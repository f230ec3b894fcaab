#include "cli/tree_path.hpp"

#include "cli/local_files.hpp"

#include "core/base/error.hpp"
#include "image/point_select.hpp"

#include <exception>

namespace vssimg::cli {

namespace {

std::vector<std::string> split_components(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  auto flush = [&] {
    if (current == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!current.empty() && current != ".") {
      out.push_back(current);
    }
    current.clear();
  };
  for (char c : text) {
    if (c == '/' || c == '\\') {
      flush();
    } else {
      current += c;
    }
  }
  flush();
  return out;
}

}  // namespace

TreePath parse_tree_path(const std::string& text, bool streams) {
  TreePath p;
  p.text = text;
  std::string rest = text;
  if (rest.size() >= 2 && rest[1] == ':' &&
      ((rest[0] >= 'A' && rest[0] <= 'Z') || (rest[0] >= 'a' && rest[0] <= 'z'))) {
    rest.erase(0, 2);
  }
  p.components = split_components(rest);
  if (!streams || p.components.empty()) return p;
  std::string& last = p.components.back();
  const size_t colon = last.find(':');
  if (colon == std::string::npos) return p;
  std::string stream = last.substr(colon + 1);
  last.erase(colon);
  if (last.empty()) throw Error(ErrorKind::usage, "parsing path", text, "no file name before ':'");
  // "a.txt::$DATA" is the unnamed stream, "a.txt:s:$DATA" the stream "s".
  const std::string data_type = ":$DATA";
  if (stream == data_type) return p;
  if (stream.size() > data_type.size() &&
      stream.compare(stream.size() - data_type.size(), data_type.size(), data_type) == 0)
    stream.erase(stream.size() - data_type.size());
  if (stream.empty() || stream.find(':') != std::string::npos)
    throw Error(ErrorKind::usage, "parsing path", text, "not a valid stream name after ':'");
  p.stream = stream;
  return p;
}

std::string join_components(const std::vector<std::string>& components) {
  std::string out;
  for (const std::string& c : components) {
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

bool is_safe_name(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == '\0') return false;
    if (!local_name_char_ok(c)) return false;
  }
  return true;
}

const char* entry_type_name(EntryType type) {
  switch (type) {
    case EntryType::file:
      return "file";
    case EntryType::directory:
      return "directory";
    case EntryType::symlink:
      return "symlink";
    case EntryType::reparse_point:
      return "reparse_point";
    case EntryType::other:
      break;
  }
  return "other";
}

OpenedTree::OpenedTree(const std::filesystem::path& store_path, const std::string& point_name,
                       const std::string& command, const LockOptions& lock)
    : m_store(store_path),
      m_lock(m_store.storage(), LockMode::shared, WriterLock::none, command, lock) {
  Point point = m_store.load_point(resolve_point(m_store, point_name));
  m_source = std::make_unique<PointSource>(m_store, std::move(point));
  m_tree = open_file_tree(*m_source);
}

void rethrow_at(const std::string& operation, const std::string& path) {
  try {
    throw;
  } catch (const PointReadError& e) {
    throw Error(ErrorKind::damage, operation, path, e.what());
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::damage) throw;
    throw Error(ErrorKind::damage, operation, path, e.cause());
  }
}

}  // namespace vssimg::cli
