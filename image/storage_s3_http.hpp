// The HTTP side of the S3 storage: signed requests over libcurl (a pool of easy handles,
// so connections are reused), retries with exponential backoff and jitter on 5xx,
// SlowDown, timeouts and dropped connections (each retry logged), and the mapping of S3
// error responses to Error kinds (AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch
// → ErrorKind::privilege, exit 14).
#pragma once

#include "image/storage_s3_sign.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vssimg {
class ProgressSink;
}

namespace vssimg::s3 {

struct Config {
  std::string endpoint;  // "https://s3.us-east-1.amazonaws.com" or "http://127.0.0.1:8000"
  std::string region;
  Credentials creds;
  std::string bucket;
  bool path_style = true;  // http://host/bucket/key, else http://bucket.host/key
  int max_attempts = 5;    // tries per request before giving up
  int connect_timeout_ms = 5000;
  int stall_seconds = 30;        // a transfer below 1 byte/s for this long is a timeout
  ProgressSink* sink = nullptr;  // where retries are logged (may be null)
  // Transfers in parallel (--connections): pack PUTs of a backup, read-ahead GETs.
  unsigned connections = k_default_connections;
  static constexpr unsigned k_default_connections = 4;
};

struct Request {
  std::string method;  // GET PUT HEAD DELETE POST
  std::string key;     // object key, not encoded; empty for the bucket itself
  Pairs query = {};    // decoded
  Pairs headers = {};  // extra headers to send and sign (range, if-none-match)
  const void* body = nullptr;
  size_t body_len = 0;  // the whole body's length, also when it is in `pieces`
  // A PUT body kept in pieces (an object appended in chunks), sent in order instead of
  // `body`; not copied.
  const std::vector<std::vector<uint8_t>>* pieces = nullptr;
  std::string payload_hash = {};  // hex SHA-256 of the body if known; else computed once
  // A buffer the response body is received into (its room reused: no fresh pages to fault
  // in for each 4 MiB window of a restore); taken by the first attempt. May be null.
  std::string* into = nullptr;
};

struct Response {
  long status = 0;
  std::string body;
  Pairs headers;  // names in lower case
  std::string header(const std::string& lower_name) const;
};

// The S3 error of a response body: its <Code> and <Message> (empty when none).
struct S3Error {
  std::string code;
  std::string message;
};

class Client {
 public:
  explicit Client(Config config);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends `req`, retrying what is worth retrying. Returns the final response whatever its
  // status; throws Error(privilege) on an authentication error and Error(failure) naming
  // the endpoint when no answer came after every attempt. `what` names the operation.
  Response send(const Request& req, const std::string& what) const;
  // The URL of an object (for messages): s3://bucket/key.
  std::string describe(const std::string& key) const;
  const Config& config() const { return m_config; }
  // Seconds the server's clock is ahead of ours, from the Date header of the last
  // response (0 before any).
  int64_t clock_skew() const;

 private:
  struct Attempt;
  void* acquire() const;
  void release(void* handle) const;
  bool attempt(void* handle, const Request& req, const std::string& payload, Response& resp,
               std::string& cause) const;
  std::string url_of(const Request& req, std::string& host, std::string& path) const;

  Config m_config;
  mutable std::mutex m_mutex;
  mutable std::vector<void*> m_handles;
  mutable int64_t m_skew = 0;
};

// Throws Error for an unexpected response: kind privilege for the authentication codes,
// failure otherwise, with the S3 code, message and HTTP status in the cause.
[[noreturn]] void throw_response(const Response& resp, const std::string& operation,
                                 const std::string& object);

// "20150830T123600Z" for a Unix time.
std::string amz_date(int64_t unix_seconds);

}  // namespace vssimg::s3
