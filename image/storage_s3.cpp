#include "image/storage_s3.hpp"

#include "core/base/error.hpp"
#include "image/storage_s3_read.hpp"
#include "image/storage_s3_xml.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstring>

namespace vssimg {

namespace {

// The key folder of a kind under the prefix: "packs/", or "" for the prefix itself.
std::string folder_of(const ObjectPlace& place) {
  return *place.folder ? std::string(place.folder) + "/" : std::string();
}

// An object being written: its bytes in memory, in chunks from the storage's pool (no copy
// as it grows, no more than a chunk beyond its size), hashed for SigV4 as they come, until
// commit() PUTs them.
class S3Writer final : public ObjectWriter {
 public:
  S3Writer(const S3Storage& storage, std::string key, WriteMode mode)
      : m_storage(storage), m_key(std::move(key)), m_mode(mode) {}
  ~S3Writer() override { m_storage.give_chunks(m_chunks); }
  void append(const void* data, size_t len) override {
    const auto* p = static_cast<const uint8_t*>(data);
    m_hash.update(p, len);
    m_size += len;
    while (len > 0) {
      if (m_chunks.empty() || m_chunks.back().size() == S3Storage::k_chunk)
        m_chunks.push_back(m_storage.take_chunk());
      std::vector<uint8_t>& c = m_chunks.back();
      const size_t k = std::min(len, S3Storage::k_chunk - c.size());
      c.insert(c.end(), p, p + k);
      p += k;
      len -= k;
    }
  }
  uint64_t size() const override { return m_size; }
  void commit() override {
    m_storage.put(m_key, m_chunks, m_size, m_hash.hex_final(), m_mode == WriteMode::create_new);
    m_storage.give_chunks(m_chunks);
  }

 private:
  const S3Storage& m_storage;
  std::string m_key;
  WriteMode m_mode;
  std::vector<std::vector<uint8_t>> m_chunks;
  size_t m_size = 0;
  s3::Sha256 m_hash;
};

std::optional<uint64_t> head_size(const s3::Client& client, const std::string& key) {
  s3::Response r = client.send(s3::Request{"HEAD", key}, "reading the size of");
  if (r.status == 404) return std::nullopt;
  if (r.status != 200) s3::throw_response(r, "reading the size of", client.describe(key));
  const std::string len = r.header("content-length");
  char* end = nullptr;
  const unsigned long long n = std::strtoull(len.c_str(), &end, 10);
  if (len.empty() || *end != '\0') {
    throw Error("reading the size of", client.describe(key), "no Content-Length in the answer");
  }
  return n;
}

}  // namespace

S3Storage::S3Storage(s3::Config config, std::string prefix)
    : m_client(std::move(config)),
      m_prefix(prefix.empty() ? "" : prefix + "/"),
      m_cache(std::make_unique<s3::ReadCache>(m_client, m_client.config().connections)) {}

S3Storage::~S3Storage() = default;

unsigned S3Storage::parallel_writes() const {
  return m_client.config().connections;
}

std::string S3Storage::location() const {
  return "s3://" + m_client.config().bucket + "/" + m_prefix;
}

std::string S3Storage::key_of(const ObjectRef& ref) const {
  check_object_name(ref);
  const ObjectPlace place = object_place(ref.kind);
  if (ref.kind == ObjectKind::config) return m_prefix + "config";
  std::string key = m_prefix + folder_of(place);
  if (ref.kind == ObjectKind::pack) key += ref.name.substr(0, 2) + "/";
  return key + ref.name + place.extension;
}

std::string S3Storage::describe(const ObjectRef& ref) const {
  return m_client.describe(key_of(ref));
}

void S3Storage::put(const std::string& key, const void* data, size_t len, bool create_new) const {
  send_put(s3::Request{"PUT", key, {}, {}, data, len}, create_new);
}

void S3Storage::put(const std::string& key, const std::vector<std::vector<uint8_t>>& pieces,
                    size_t len, std::string sha256_hex, bool create_new) const {
  send_put(s3::Request{"PUT", key, {}, {}, nullptr, len, &pieces, std::move(sha256_hex)},
           create_new);
}

void S3Storage::send_put(s3::Request req, bool create_new) const {
  const std::string& key = req.key;
  if (create_new) req.headers.emplace_back("if-none-match", "*");
  s3::Response r = m_client.send(req, "writing");
  if (r.status == 412) throw Error("writing", m_client.describe(key), "already exists");
  if (r.status != 200) s3::throw_response(r, "writing", m_client.describe(key));
}

std::vector<uint8_t> S3Storage::take_chunk() const {
  std::vector<uint8_t> c = m_pool.take();
  c.reserve(k_chunk);  // a kept chunk has the room already
  return c;
}

void S3Storage::give_chunks(std::vector<std::vector<uint8_t>>& chunks) const {
  for (auto& c : chunks)
    if (c.capacity() >= k_chunk) m_pool.give(std::move(c));
  std::vector<std::vector<uint8_t>>().swap(chunks);
}

size_t S3Storage::pooled_chunks() const {
  return m_pool.size();
}

std::unique_ptr<ObjectWriter> S3Storage::create(const ObjectRef& ref, WriteMode mode) const {
  return std::make_unique<S3Writer>(*this, key_of(ref), mode);
}

std::unique_ptr<ObjectReader> S3Storage::open(const ObjectRef& ref) const {
  const std::string key = key_of(ref);
  auto n = head_size(m_client, key);
  if (!n) throw Error("opening", m_client.describe(key), "no such object");
  // Packs are read through the read-ahead windows; the other kinds are small or replaced.
  s3::ReadCache* cache = ref.kind == ObjectKind::pack ? m_cache.get() : nullptr;
  return std::make_unique<s3::S3Reader>(m_client, key, *n, cache);
}

std::optional<uint64_t> S3Storage::size(const ObjectRef& ref) const {
  return head_size(m_client, key_of(ref));
}

std::vector<std::pair<std::string, uint64_t>> S3Storage::list_keys(
    const std::string& prefix, bool recursive, std::vector<int64_t>* modified) const {
  std::vector<std::pair<std::string, uint64_t>> out;
  std::string token;
  do {
    s3::Request req{"GET", "", {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", "1000"}}};
    if (!recursive) req.query.emplace_back("delimiter", "/");
    if (!token.empty()) req.query.emplace_back("continuation-token", token);
    s3::Response r = m_client.send(req, "listing");
    const std::string what = m_client.describe(prefix);
    if (r.status == 404) throw Error(ErrorKind::store_not_found, "listing", what, "no such bucket");
    if (r.status != 200) s3::throw_response(r, "listing", what);
    s3::ListPage page = s3::parse_list_page(r.body, what);
    out.insert(out.end(), page.objects.begin(), page.objects.end());
    if (modified) modified->insert(modified->end(), page.modified.begin(), page.modified.end());
    token = page.truncated ? page.next_token : "";
  } while (!token.empty());
  return out;
}

std::vector<std::string> S3Storage::list_names(ObjectKind kind,
                                               std::vector<int64_t>* modified) const {
  const ObjectPlace place = object_place(kind);
  const std::string prefix = m_prefix + folder_of(place);
  const std::string ext = place.extension;
  std::vector<int64_t> times;
  const auto keys = list_keys(prefix, kind == ObjectKind::pack, &times);
  std::vector<std::string> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& key = keys[i].first;
    std::string name = key.substr(key.rfind('/') == std::string::npos ? 0 : key.rfind('/') + 1);
    if (name.size() <= ext.size() || name.compare(name.size() - ext.size(), ext.size(), ext) != 0)
      continue;
    if (kind == ObjectKind::state && key.size() != prefix.size() + name.size()) continue;
    out.push_back(name.substr(0, name.size() - ext.size()));
    if (modified) modified->push_back(i < times.size() ? times[i] : -1);
  }
  return out;
}

std::vector<std::string> S3Storage::list(ObjectKind kind) const {
  if (kind == ObjectKind::config) {
    return size(ObjectRef{kind, ""}) ? std::vector<std::string>{""} : std::vector<std::string>{};
  }
  std::vector<std::string> out = list_names(kind, nullptr);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> S3Storage::recent(ObjectKind kind, int64_t seconds) const {
  if (kind == ObjectKind::config) return {};
  std::vector<int64_t> modified;
  const std::vector<std::string> names = list_names(kind, &modified);
  // The real clock, as the skew was measured with (never VSSIMG_FAKE_NOW's).
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t server_now = now + m_client.clock_skew();
  std::vector<std::string> out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (modified[i] < 0 || modified[i] > server_now - seconds) out.push_back(names[i]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool S3Storage::remove(const ObjectRef& ref) const {
  const std::string key = key_of(ref);
  if (!head_size(m_client, key)) return false;
  s3::Response r = m_client.send(s3::Request{"DELETE", key}, "deleting");
  if (r.status != 204 && r.status != 200 && r.status != 404)
    s3::throw_response(r, "deleting", m_client.describe(key));
  return true;
}

void S3Storage::remove_all(ObjectKind kind, const std::vector<std::string>& names) const {
  constexpr size_t k_batch = 1000;  // DeleteObjects takes at most 1000 keys
  for (size_t at = 0; at < names.size(); at += k_batch) {
    std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>";
    for (size_t i = at; i < std::min(names.size(), at + k_batch); ++i)
      body +=
          "<Object><Key>" + s3::xml_escape(key_of(ObjectRef{kind, names[i]})) + "</Key></Object>";
    body += "</Delete>";
    const std::string md5 = s3::md5_base64(body.data(), body.size());
    s3::Request req{"POST", "", {{"delete", ""}}, {{"content-md5", md5}}, body.data(), body.size()};
    s3::Response r = m_client.send(req, "deleting");
    const std::string what = m_client.describe(m_prefix);
    if (r.status != 200) s3::throw_response(r, "deleting objects under", what);
    for (const auto& [key, code] : s3::parse_delete_errors(r.body, what)) {
      if (code != "NoSuchKey") throw Error("deleting", m_client.describe(key), "S3 error " + code);
    }
  }
}

void S3Storage::create_store() {
  s3::Response r = m_client.send(s3::Request{"PUT", ""}, "creating bucket");
  const s3::S3Error e = s3::parse_error(r.body);
  if (r.status != 200 && e.code != "BucketAlreadyOwnedByYou")
    s3::throw_response(r, "creating bucket", m_client.describe(""));
  if (!list_keys(m_prefix, true).empty()) {
    throw Error("creating store", location(),
                size(ObjectRef{ObjectKind::config, ""}) ? "a store already exists there"
                                                        : "objects exist under that prefix");
  }
}

void S3Storage::check_store() const {
  // A GET, not a HEAD: its error body names the S3 code (SignatureDoesNotMatch, ...).
  const std::string config = key_of(ObjectRef{ObjectKind::config, ""});
  s3::Request req{"GET", "", {{"list-type", "2"}, {"prefix", config}, {"max-keys", "1"}}};
  s3::Response r = m_client.send(req, "opening store");
  if (r.status == 404) {
    throw Error(ErrorKind::store_not_found, "opening store", location(),
                "no such bucket (create a store with vssimg init)");
  }
  if (r.status != 200) s3::throw_response(r, "opening store", location());
  const s3::ListPage page = s3::parse_list_page(r.body, location());
  if (page.objects.empty() || page.objects.front().first != config) {
    throw Error(ErrorKind::store_not_found, "opening store", location(),
                "not a vssimg store (no config object)");
  }
  const int64_t skew = m_client.clock_skew();
  if (skew > k_max_skew_seconds || skew < -k_max_skew_seconds) {
    const std::time_t here = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    const std::time_t there = here + static_cast<std::time_t>(skew);
    throw Error("opening store", location(),
                fmt::format("this computer's clock says {:%Y-%m-%d %H:%M:%S} UTC, the server's "
                            "Date header {:%Y-%m-%d %H:%M:%S} UTC: {} s {} it (more than {} s); "
                            "set the clock right",
                            fmt::gmtime(here), fmt::gmtime(there), skew < 0 ? -skew : skew,
                            skew < 0 ? "ahead of" : "behind", k_max_skew_seconds));
  }
}

}  // namespace vssimg
