#include "core/base/error.hpp"

#include <atomic>
#include <cctype>
#include <cstring>

namespace vssimg {

namespace {
std::atomic<bool> g_interrupted{false};
std::atomic<const char*> g_cause{nullptr};

std::string compose(const std::string& operation, const std::string& object,
                    const std::string& cause) {
  std::string text = operation;
  if (!object.empty()) {
    text += ' ';
    text += object;
  }
  text += ": ";
  text += cause;
  return text;
}
}  // namespace

Error::Error(ErrorKind kind, std::string operation, std::string object, std::string cause)
    : std::runtime_error(compose(operation, object, cause)),
      m_kind(kind),
      m_operation(std::move(operation)),
      m_object(std::move(object)),
      m_cause(std::move(cause)) {}

Error::Error(std::string operation, std::string object, std::string cause)
    : Error(ErrorKind::failure, std::move(operation), std::move(object), std::move(cause)) {}

std::string errno_text(int err) {
  std::string text = std::strerror(err);
  if (!text.empty() && std::isupper(static_cast<unsigned char>(text[0])) &&
      !(text.size() > 1 && std::isupper(static_cast<unsigned char>(text[1])))) {
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  }
  return text;
}

void throw_errno(const std::string& operation, const std::string& object, int err, ErrorKind kind) {
  throw Error(kind, operation, object, errno_text(err));
}

void request_interrupt(const char* cause) {
  if (cause) g_cause.store(cause);
  g_interrupted.store(true);
}
bool interrupt_requested() {
  return g_interrupted.load(std::memory_order_relaxed);
}
const char* interrupt_cause() {
  const char* cause = g_cause.load();
  return cause ? cause : "interrupted by the user";
}
void check_interrupted() {
  if (interrupt_requested()) {
    throw Error(ErrorKind::interrupted, "stopping", "", interrupt_cause());
  }
}

}  // namespace vssimg
