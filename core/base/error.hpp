// Errors: one type that carries "operation object: cause" and a kind that cli/ maps
// to an exit code. Library code throws it; only cli/main catches.
#pragma once

#include <stdexcept>
#include <string>

namespace vssimg {

// What went wrong, in the terms a script branches on. cli/exit_codes.cpp maps each
// kind to one documented exit code.
enum class ErrorKind {
  failure,          // anything not covered below
  usage,            // bad arguments (a point name that does not exist, a wrong flag value)
  store_not_found,  // no store at the path, or not a store
  newer_format,     // a store, or a file in it, of a newer format than this build reads
  store_locked,     // another process holds a conflicting lock
  damage,           // the store (or a compared source) is damaged
  vss,              // VSS failed: no snapshot was created
  privilege,        // not elevated / insufficient privileges
  key_refused,      // an encrypted store: no password given, or none of its keys opens with it
  interrupted,      // Ctrl+C / SIGTERM
};

class Error : public std::runtime_error {
 public:
  // `operation` is a verb phrase ("reading", "creating store"), `object` names the
  // file, point or device, `cause` says why ("checksum mismatch").
  Error(ErrorKind kind, std::string operation, std::string object, std::string cause);
  Error(std::string operation, std::string object, std::string cause);

  ErrorKind kind() const { return m_kind; }
  const std::string& operation() const { return m_operation; }
  const std::string& object() const { return m_object; }
  const std::string& cause() const { return m_cause; }

 private:
  ErrorKind m_kind;
  std::string m_operation;
  std::string m_object;
  std::string m_cause;
};

// The text of a C errno value ("No space left on device", lower-cased first letter).
std::string errno_text(int err);

// Throws Error(kind, operation, object, errno_text(err)).
[[noreturn]] void throw_errno(const std::string& operation, const std::string& object, int err,
                              ErrorKind kind = ErrorKind::failure);

// Set by the signal handler in cli/; long loops call check_interrupted() between units
// of work so Ctrl+C stops them at a safe point. `cause` (a string literal, safe to pass
// from a signal handler) is what the interrupted work's error says; by default
// "interrupted by the user".
void request_interrupt(const char* cause = nullptr);
bool interrupt_requested();
const char* interrupt_cause();
void check_interrupted();

}  // namespace vssimg
