#include "image/storage_s3_sign.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"

#include <sodium.h>
#if VSSIMG_S3_OPENSSL
#include <openssl/evp.h>
#endif

#include <algorithm>
#include <array>
#include <cctype>

namespace vssimg::s3 {

namespace {

using Digest = std::array<unsigned char, crypto_auth_hmacsha256_BYTES>;

void init_sodium() {
  static const int rc = sodium_init();
  if (rc < 0) throw Error("signing a request", "libsodium", "sodium_init failed");
}

Digest hmac(std::string_view key, std::string_view msg) {
  crypto_auth_hmacsha256_state st;
  Digest out{};
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(msg.data()),
                                msg.size());
  crypto_auth_hmacsha256_final(&st, out.data());
  return out;
}

std::string_view view(const Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Trims the value and folds runs of spaces into one, as the canonical headers want.
std::string trim_value(const std::string& v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

Pairs canonical_headers(const Pairs& headers) {
  Pairs h;
  for (const auto& [k, v] : headers) h.emplace_back(lower(k), trim_value(v));
  std::stable_sort(h.begin(), h.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return h;
}

std::string signed_header_names(const Pairs& canonical) {
  std::string out;
  for (const auto& [k, v] : canonical) {
    if (!out.empty() && out.substr(out.rfind(';') + 1) == k) continue;
    out += (out.empty() ? "" : ";") + k;
  }
  return out;
}

}  // namespace

std::string sha256_hex(const void* data, size_t len) {
  Sha256 h;
  h.update(data, len);
  return h.hex_final();
}

#if VSSIMG_S3_OPENSSL
// OpenSSL's SHA-256 (SHA-NI where the CPU has it): about five times libsodium's here.
Sha256::Sha256() : m_ctx(EVP_MD_CTX_new()) {
  if (!m_ctx || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(m_ctx), EVP_sha256(), nullptr) != 1)
    throw Error("signing a request", "libcrypto", "SHA-256 is not available");
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(m_ctx));
}

void Sha256::update(const void* data, size_t len) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(m_ctx), data, len);
}

std::string Sha256::hex_final() {
  auto* ctx = static_cast<EVP_MD_CTX*>(m_ctx);
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, d, &n);
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  return to_hex(d, n);
}
#else
namespace {
crypto_hash_sha256_state* state_of(unsigned char* raw) {
  static_assert(sizeof(crypto_hash_sha256_state) <= 128 && alignof(crypto_hash_sha256_state) <= 16);
  return reinterpret_cast<crypto_hash_sha256_state*>(raw);
}
}  // namespace

Sha256::Sha256() {
  init_sodium();
  crypto_hash_sha256_init(state_of(m_state));
}

Sha256::~Sha256() = default;

void Sha256::update(const void* data, size_t len) {
  crypto_hash_sha256_update(state_of(m_state), static_cast<const unsigned char*>(data), len);
}

std::string Sha256::hex_final() {
  std::array<unsigned char, crypto_hash_sha256_BYTES> d{};
  crypto_hash_sha256_final(state_of(m_state), d.data());
  crypto_hash_sha256_init(state_of(m_state));
  return to_hex(d.data(), d.size());
}
#endif

std::string uri_encode(std::string_view s, bool encode_slash) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (c == '/' && !encode_slash)) {
      out += c;
    } else {
      out += '%';
      out += digits[u >> 4];
      out += digits[u & 15];
    }
  }
  return out;
}

std::string canonical_request(const SignInput& in) {
  Pairs q;
  for (const auto& [k, v] : in.query) q.emplace_back(uri_encode(k, true), uri_encode(v, true));
  std::sort(q.begin(), q.end());
  std::string query;
  for (const auto& [k, v] : q) query += (query.empty() ? "" : "&") + k + "=" + v;
  const Pairs h = canonical_headers(in.headers);
  std::string headers;
  for (size_t i = 0; i < h.size(); ++i) {
    // Repeated names join their values with commas, in the order given.
    if (i > 0 && h[i].first == h[i - 1].first) {
      headers.back() = ',';
      headers += h[i].second + "\n";
    } else {
      headers += h[i].first + ":" + h[i].second + "\n";
    }
  }
  return in.method + "\n" + in.path + "\n" + query + "\n" + headers + "\n" +
         signed_header_names(h) + "\n" + in.payload_hash;
}

std::string string_to_sign(const std::string& canonical, const std::string& amz_date,
                           const std::string& scope) {
  return "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" +
         sha256_hex(canonical.data(), canonical.size());
}

std::string authorization(const SignInput& in, const Credentials& creds, const std::string& region,
                          const std::string& service, const std::string& amz_date) {
  init_sodium();
  const std::string date = amz_date.substr(0, 8);
  const std::string scope = date + "/" + region + "/" + service + "/aws4_request";
  const std::string canonical = canonical_request(in);
  Digest k = hmac("AWS4" + creds.secret_key, date);
  k = hmac(view(k), region);
  k = hmac(view(k), service);
  k = hmac(view(k), "aws4_request");
  const Digest sig = hmac(view(k), string_to_sign(canonical, amz_date, scope));
  return "AWS4-HMAC-SHA256 Credential=" + creds.access_key + "/" + scope +
         ", SignedHeaders=" + signed_header_names(canonical_headers(in.headers)) +
         ", Signature=" + to_hex(sig.data(), sig.size());
}

}  // namespace vssimg::s3
