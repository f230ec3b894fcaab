// AWS Signature Version 4 for S3 requests: the canonical request, the string to sign, the
// signing key and the Authorization header, over libsodium's SHA-256 and HMAC-SHA-256.
// Checked against AWS's published test vectors (tests/image/test_s3_sign.cpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vssimg::s3 {

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // empty unless temporary credentials
};

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct SignInput {
  std::string method;        // "GET"
  std::string path;          // the request path, already URI-encoded ("/bucket/key")
  Pairs query;               // decoded names and values, in any order
  Pairs headers;             // every header to sign; must hold host and x-amz-date
  std::string payload_hash;  // hex SHA-256 of the body
};

// Lower-case hex of SHA-256 of `data`.
std::string sha256_hex(const void* data, size_t len);

// SHA-256 of bytes given piece by piece (an object's payload hash, computed as it is
// appended so that a PUT never hashes its body again).
// OpenSSL's libcrypto when the build found it (VSSIMG_S3_OPENSSL), else libsodium's.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t len);
  // Lower-case hex of the hash of everything given; the object is reset afterwards.
  std::string hex_final();

 private:
  [[maybe_unused]] void* m_ctx = nullptr;                   // libcrypto: an EVP_MD_CTX
  alignas(16) [[maybe_unused]] unsigned char m_state[128];  // libsodium: its state
};
// Base64 of MD5 of `data`, for Content-MD5 (DeleteObjects requires it); RFC 1321.
std::string md5_base64(const void* data, size_t len);
// Lower-case hex of MD5 (tests).
std::string md5_hex(const void* data, size_t len);
// RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else %XX
// (upper case); '/' kept unless `encode_slash`.
std::string uri_encode(std::string_view s, bool encode_slash);

// The canonical request and the string to sign (exposed for the test vectors).
std::string canonical_request(const SignInput& in);
std::string string_to_sign(const std::string& canonical, const std::string& amz_date,
                           const std::string& scope);

// The value of the Authorization header for `in`, signed at `amz_date`
// ("20150830T123600Z") for `region` and `service`.
std::string authorization(const SignInput& in, const Credentials& creds, const std::string& region,
                          const std::string& service, const std::string& amz_date);

}  // namespace vssimg::s3
