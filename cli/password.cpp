#include "cli/password.hpp"

#include "core/base/error.hpp"
#include "core/os/path.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace vssimg::cli {

std::string read_password_file(const std::string& path) {
  std::ifstream in(path_from_utf8(path), std::ios::binary);
  if (!in) throw Error(ErrorKind::key_refused, "reading password file", path, "cannot open it");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > 4096) {
    throw Error(ErrorKind::key_refused, "reading password file", path, "longer than 4096 bytes");
  }
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    throw Error(ErrorKind::key_refused, "reading password file", path, "first line is empty");
  }
  return line;
}

std::string read_password(const PasswordSource& source, const std::string& purpose) {
  if (!source.file.empty()) return read_password_file(source.file);
  if (const char* f = std::getenv("VSSIMG_PASSWORD_FILE"); f && *f) return read_password_file(f);
  if (auto typed = prompt_password("password for " + purpose + ": ")) {
    if (typed->empty()) {
      throw Error(ErrorKind::key_refused, "reading password", purpose, "empty password");
    }
    return *typed;
  }
  if (const char* p = std::getenv("VSSIMG_PASSWORD"); p && *p) return p;
  throw Error(ErrorKind::key_refused, "reading password", purpose,
              "no password given (use --password-file, VSSIMG_PASSWORD_FILE, a console, or "
              "VSSIMG_PASSWORD)");
}

std::string read_new_password(const PasswordSource& source, const std::string& purpose) {
  if (!source.file.empty()) return read_password_file(source.file);
  if (const char* f = std::getenv("VSSIMG_PASSWORD_FILE"); f && *f) return read_password_file(f);
  if (auto first = prompt_password("new password for " + purpose + ": ")) {
    auto again = prompt_password("repeat the password: ");
    if (first->empty() || !again || *again != *first) {
      throw Error(ErrorKind::key_refused, "reading new password", purpose,
                  "the two entries differ or are empty");
    }
    return *first;
  }
  if (const char* p = std::getenv("VSSIMG_PASSWORD"); p && *p) return p;
  throw Error(ErrorKind::key_refused, "reading new password", purpose,
              "no password given (use --password-file, VSSIMG_PASSWORD_FILE, a console, or "
              "VSSIMG_PASSWORD)");
}

}  // namespace vssimg::cli
