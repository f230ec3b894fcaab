#include "image/storage_s3_http.hpp"

#include "core/base/error.hpp"
#include "core/base/progress.hpp"
#include "image/storage_s3_xml.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

namespace vssimg::s3 {

namespace {

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void global_init() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) throw Error("starting HTTP", "libcurl", curl_easy_strerror(rc));
}

// A request body, contiguous or in pieces, read front to back by libcurl.
struct Body {
  const Request& req;
  size_t at = 0;     // bytes sent so far
  size_t piece = 0;  // with pieces: the piece holding byte `at`
  size_t in_piece = 0;
  // Moves the cursor to `offset` (<= body_len).
  void seek(size_t offset) {
    at = offset;
    if (!req.pieces) return;
    piece = 0;
    in_piece = offset;
    while (piece < req.pieces->size() && in_piece >= (*req.pieces)[piece].size()) {
      in_piece -= (*req.pieces)[piece].size();
      ++piece;
    }
  }
  size_t read(char* buf, size_t cap) {
    if (!req.pieces) {
      const size_t k = std::min(cap, req.body_len - at);
      if (k) std::memcpy(buf, static_cast<const char*>(req.body) + at, k);
      at += k;
      return k;
    }
    size_t done = 0;
    while (done < cap && piece < req.pieces->size()) {
      const std::vector<uint8_t>& p = (*req.pieces)[piece];
      const size_t k = std::min(cap - done, p.size() - in_piece);
      std::memcpy(buf + done, p.data() + in_piece, k);
      done += k;
      in_piece += k;
      if (in_piece == p.size()) ++piece, in_piece = 0;
    }
    at += done;
    return done;
  }
};

// Lets libcurl resend the body itself (a reused connection found closed mid-upload).
int seek_body(void* user, curl_off_t offset, int origin) {
  auto* b = static_cast<Body*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > b->req.body_len)
    return CURL_SEEKFUNC_CANTSEEK;
  b->seek(static_cast<size_t>(offset));
  return CURL_SEEKFUNC_OK;
}

size_t read_body(char* buf, size_t size, size_t n, void* user) {
  return static_cast<Body*>(user)->read(buf, size * n);
}

struct Sink {
  Response* resp;
  CURL* handle;
};

size_t write_body(char* p, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  std::string& body = sink->resp->body;
  if (body.empty()) {  // the first bytes: make room for all of them at once (a ranged GET)
    curl_off_t len = -1;
    curl_easy_getinfo(sink->handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
    if (len > 0)
      body.reserve(static_cast<size_t>(std::min<curl_off_t>(len, curl_off_t{256} << 20)));
  }
  body.append(p, size * n);
  return size * n;
}

size_t write_header(char* p, size_t size, size_t n, void* user) {
  std::string line(p, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    static_cast<Response*>(user)->headers.emplace_back(name, value);
  } else if (line.rfind("HTTP/", 0) == 0) {
    static_cast<Response*>(user)->headers.clear();  // a new response (after 100 Continue)
  }
  return size * n;
}

// libcurl's buffers: the defaults (16 and 64 KiB) cost a system call per few packets.
constexpr long k_receive_buffer = 512 * 1024;
constexpr long k_send_buffer = 1024 * 1024;

std::string hash_pieces(const std::vector<std::vector<uint8_t>>& pieces) {
  Sha256 h;
  for (const auto& p : pieces) h.update(p.data(), p.size());
  return h.hex_final();
}

bool is_auth_code(const std::string& code) {
  return code == "AccessDenied" || code == "InvalidAccessKeyId" ||
         code == "SignatureDoesNotMatch" || code == "InvalidToken" || code == "ExpiredToken";
}

bool retryable(const Response& r) {
  if (r.status >= 500) return true;
  const S3Error e = parse_error(r.body);
  return e.code == "SlowDown" || e.code == "RequestTimeout" || e.code == "InternalError";
}

// Full jitter over an exponential step: a delay in [step/2, step], step = 200 ms · 2^n,
// capped at 5 s.
std::chrono::milliseconds backoff(int attempt) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  const int64_t step = std::min<int64_t>(int64_t{200} << std::min(attempt, 8), 5000);
  std::uniform_int_distribution<int64_t> d(step / 2, step);
  return std::chrono::milliseconds(d(rng));
}

}  // namespace

std::string Response::header(const std::string& lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

std::string amz_date(int64_t t) {
  // Days to civil date (H. Hinnant's algorithm), no platform time functions.
  int64_t days = t / 86400, secs = t % 86400;
  if (secs < 0) secs += 86400, --days;
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", y, m, d, secs / 3600, secs / 60 % 60,
                     secs % 60);
}

Client::Client(Config config) : m_config(std::move(config)) {
  global_init();
  while (!m_config.endpoint.empty() && m_config.endpoint.back() == '/')
    m_config.endpoint.pop_back();
}

Client::~Client() {
  for (void* h : m_handles) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* Client::acquire() const {
  {
    std::lock_guard<std::mutex> g(m_mutex);
    if (!m_handles.empty()) {
      void* h = m_handles.back();
      m_handles.pop_back();
      return h;
    }
  }
  CURL* h = curl_easy_init();
  if (!h) throw Error("starting HTTP", "libcurl", "curl_easy_init failed");
  return h;
}

void Client::release(void* handle) const {
  std::lock_guard<std::mutex> g(m_mutex);
  m_handles.push_back(handle);
}

int64_t Client::clock_skew() const {
  std::lock_guard<std::mutex> g(m_mutex);
  return m_skew;
}

std::string Client::describe(const std::string& key) const {
  return "s3://" + m_config.bucket + (key.empty() ? "" : "/" + key);
}

std::string Client::url_of(const Request& req, std::string& host, std::string& path) const {
  const std::string& ep = m_config.endpoint;
  const size_t scheme_end = ep.find("://");
  const std::string scheme = ep.substr(0, scheme_end + 3);
  host = ep.substr(scheme_end + 3);
  const std::string key = uri_encode(req.key, false);
  if (m_config.path_style) {
    path = "/" + uri_encode(m_config.bucket, true) + (req.key.empty() ? "" : "/" + key);
  } else {
    host = m_config.bucket + "." + host;
    path = "/" + key;
  }
  std::string query;
  Pairs q = req.query;
  std::sort(q.begin(), q.end());
  for (const auto& [k, v] : q)
    query += (query.empty() ? "?" : "&") + uri_encode(k, true) + "=" + uri_encode(v, true);
  return scheme + host + path + query;
}

namespace {

// Sets the method and body of a request on a reset handle.
void set_method(CURL* h, const Request& req, Body& body) {
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT") {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(h, CURLOPT_READDATA, &body);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_body);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &body);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body_len));
  } else if (req.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, static_cast<const char*>(req.body));
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body_len));
  } else if (req.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
}

struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
  void add(const std::string& k, const std::string& v) {
    list = curl_slist_append(list, (k + ": " + v).c_str());
  }
};

}  // namespace

// One try: true when an HTTP response came (any status), false with `cause` otherwise.
bool Client::attempt(void* handle, const Request& req, const std::string& payload, Response& resp,
                     std::string& cause) const {
  CURL* h = static_cast<CURL*>(handle);
  curl_easy_reset(h);  // keeps the handle's open connection for the next request
  std::string host, path;
  const std::string url = url_of(req, host, path);
  const std::string date = amz_date(now_seconds());
  SignInput in{req.method, path, req.query, req.headers, payload};
  in.headers.emplace_back("host", host);
  in.headers.emplace_back("x-amz-date", date);
  in.headers.emplace_back("x-amz-content-sha256", payload);
  if (!m_config.creds.session_token.empty())
    in.headers.emplace_back("x-amz-security-token", m_config.creds.session_token);
  HeaderList hl;
  for (const auto& [k, v] : in.headers)
    if (k != "host") hl.add(k, v);
  hl.add("Authorization", authorization(in, m_config.creds, m_config.region, "s3", date));
  hl.list = curl_slist_append(hl.list, "Expect:");
  Body body{req};
  Sink sink{&resp, h};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl.list);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(m_config.connect_timeout_ms));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(m_config.stall_seconds));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, k_receive_buffer);
  curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, k_send_buffer);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp);
  set_method(h, req, body);
  resp = Response{};
  if (req.into) {
    req.into->clear();
    resp.body.swap(*req.into);
  }
  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    cause = curl_easy_strerror(rc);
    return false;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  const std::string server_date = resp.header("date");
  const time_t t = server_date.empty() ? -1 : curl_getdate(server_date.c_str(), nullptr);
  if (t > 0) {
    std::lock_guard<std::mutex> g(m_mutex);
    m_skew = static_cast<int64_t>(t) - now_seconds();
  }
  return true;
}

Response Client::send(const Request& req, const std::string& what) const {
  void* h = acquire();
  Response resp;
  std::string cause;
  const std::string object = describe(req.key);
  // Hashed once for every attempt (a PUT of a pack comes with its hash, made as it filled).
  const std::string payload = !req.payload_hash.empty() ? req.payload_hash
                              : req.pieces              ? hash_pieces(*req.pieces)
                                           : sha256_hex(req.body ? req.body : "", req.body_len);
  for (int n = 0;; ++n) {
    check_interrupted();
    bool answered = attempt(h, req, payload, resp, cause);
    if (answered && !retryable(resp)) break;
    if (answered) {
      const S3Error e = parse_error(resp.body);
      cause = fmt::format("HTTP {}{}", resp.status, e.code.empty() ? "" : " " + e.code);
    }
    if (n + 1 >= m_config.max_attempts) {
      if (answered) break;  // the caller reports the last answer
      curl_easy_cleanup(static_cast<CURL*>(h));
      throw Error(what, object,
                  fmt::format("no answer from {} after {} attempts: {}", m_config.endpoint,
                              m_config.max_attempts, cause));
    }
    const auto delay = backoff(n);
    if (m_config.sink) {
      m_config.sink->info(fmt::format("{} {}: {}; retrying in {} ms (attempt {} of {})", what,
                                      object, cause, delay.count(), n + 2, m_config.max_attempts));
    }
    std::this_thread::sleep_for(delay);
  }
  release(h);
  const S3Error e = parse_error(resp.body);
  if (resp.status == 403 && is_auth_code(e.code)) throw_response(resp, what, object);
  return resp;
}

void throw_response(const Response& resp, const std::string& operation, const std::string& object) {
  const S3Error e = parse_error(resp.body);
  const bool auth = resp.status == 403 && (e.code.empty() || is_auth_code(e.code));
  std::string cause =
      fmt::format("S3 error {} (HTTP {})", e.code.empty() ? "?" : e.code, resp.status);
  if (!e.message.empty()) cause += ": " + e.message;
  if (auth) cause += "; check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the credentials file";
  throw Error(auth ? ErrorKind::privilege : ErrorKind::failure, operation, object, cause);
}

}  // namespace vssimg::s3
