// Where the password of an encrypted store comes from (docs/format.md, "Key files"), in
// this order: --password-file, VSSIMG_PASSWORD_FILE, a console prompt without echo,
// VSSIMG_PASSWORD (the weakest: any process of the same user, and every child, can read
// an environment).
#pragma once

#include <optional>
#include <string>

namespace vssimg::cli {

struct PasswordSource {
  std::string file;  // --password-file, empty when not given
};

// The password, or Error(key_refused) "no password given" naming the ways to give one.
// `purpose` names what it is for in the prompt ("password for /srv/store").
// An empty file, or one that cannot be read, is an error naming the file.
std::string read_password(const PasswordSource& source, const std::string& purpose);

// The password of a new store (init --encrypt): a file as read_password takes it, else
// asked twice on the console, else VSSIMG_PASSWORD; Error(key_refused) otherwise.
std::string read_new_password(const PasswordSource& source, const std::string& purpose);

// The first line of a password file (without its line end). Throws Error naming the file.
std::string read_password_file(const std::string& path);

// Asks on the console without echo; nothing when there is no console (stdin not a
// terminal). In cli/password_prompt_posix.cpp / _win32.cpp.
std::optional<std::string> prompt_password(const std::string& prompt);

}  // namespace vssimg::cli
