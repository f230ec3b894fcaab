// The storage of a store in an S3 bucket (AWS S3, Ceph radosgw, MinIO, ...): the same
// layout as a local store directory, as object keys under a prefix (docs/format.md,
// "Object storage"). Objects are written once with PUT If-None-Match: * from memory, read
// with ranged GETs, sized with HEAD, listed with ListObjectsV2 and removed with DELETE.
// Locks are lock objects (storage_s3_lock.cpp). HTTP, signing and retries: storage_s3_http.
#pragma once

#include "core/base/free_list.hpp"
#include "image/storage.hpp"
#include "image/storage_s3_http.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vssimg {

namespace s3 {
class ReadCache;
}

class S3Storage final : public Storage {
 public:
  // `prefix` without leading or trailing slashes ("" for the bucket's root).
  S3Storage(s3::Config config, std::string prefix);
  ~S3Storage() override;

  // Creates the bucket when it is missing; refuses when a store exists under the prefix.
  void create_store();
  // Throws Error(store_not_found) when the bucket or the config object is missing, and
  // Error(failure) when the server's clock is more than k_max_skew_seconds off.
  void check_store() const;

  std::string location() const override;
  std::string describe(const ObjectRef& ref) const override;
  std::unique_ptr<ObjectWriter> create(const ObjectRef& ref,
                                       WriteMode mode = WriteMode::create_new) const override;
  std::unique_ptr<ObjectReader> open(const ObjectRef& ref) const override;
  std::optional<uint64_t> size(const ObjectRef& ref) const override;
  std::vector<std::string> list(ObjectKind kind) const override;
  // By LastModified against the server's clock (this clock corrected by the skew the
  // server's Date header showed); an object without LastModified counts as recent.
  std::vector<std::string> recent(ObjectKind kind, int64_t seconds) const override;
  bool remove(const ObjectRef& ref) const override;
  void remove_all(ObjectKind kind, const std::vector<std::string>& names) const override;
  size_t clean_leftovers(Leftovers) const override { return 0; }  // a PUT is all or nothing
  // config.connections: PUTs of packs and read-ahead GETs in parallel.
  unsigned parallel_writes() const override;
  std::unique_ptr<StorageLock> lock(LockMode mode, WriterLock writer, const std::string& command,
                                    bool read_only_ok = false) const override;

  // The object key of `ref` ("prefix/packs/ab/ab....pack").
  std::string key_of(const ObjectRef& ref) const;
  const s3::Client& client() const { return m_client; }
  // PUTs `len` bytes at `key`; `create_new` adds If-None-Match: * (412 → "already exists").
  void put(const std::string& key, const void* data, size_t len, bool create_new) const;
  // The same for a body in pieces whose SHA-256 (hex) is known.
  void put(const std::string& key, const std::vector<std::vector<uint8_t>>& pieces, size_t len,
           std::string sha256_hex, bool create_new) const;

  static constexpr int64_t k_max_skew_seconds = 600;

  // Buffers of 1 MiB for the objects being written, reused: a fresh one is a new mapping
  // whose 256 pages fault in (a 4 GiB backup's packs: 350,000 faults, about 1 s of system
  // time). take() gives an empty one with room for k_chunk bytes; give() takes them back,
  // keeping at most k_pooled_chunks.
  static constexpr size_t k_chunk = 1u << 20;
  static constexpr size_t k_pooled_chunks = 256;
  std::vector<uint8_t> take_chunk() const;
  void give_chunks(std::vector<std::vector<uint8_t>>& chunks) const;
  size_t pooled_chunks() const;  // how many wait in the pool

 private:
  // `modified` (if given) gets each key's LastModified (-1: not given).
  std::vector<std::pair<std::string, uint64_t>> list_keys(
      const std::string& prefix, bool recursive, std::vector<int64_t>* modified = nullptr) const;
  // The names of the objects of `kind`, with their LastModified in `modified` (if given),
  // in the order of the listing.
  std::vector<std::string> list_names(ObjectKind kind, std::vector<int64_t>* modified) const;

  void send_put(s3::Request req, bool create_new) const;

  s3::Client m_client;
  std::string m_prefix;                    // "" or "prefix/"
  std::unique_ptr<s3::ReadCache> m_cache;  // windows of packs read ahead (storage_s3_read)
  mutable FreeList<std::vector<uint8_t>> m_pool{k_pooled_chunks};  // take_chunk, give_chunks
};

}  // namespace vssimg
