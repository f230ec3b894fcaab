#include "image/storage_sealed.hpp"

#include "core/base/bytes.hpp"
#include "core/base/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <utility>

namespace vssimg {

namespace {

// Object header: magic · version u32 · chunk size u32 · base nonce (docs/format.md).
constexpr char k_magic[9] = "VSSIMGSE";
constexpr uint32_t k_sealed_version = 1;
constexpr size_t k_header = 8 + 4 + 4 + k_seal_nonce_size;
constexpr uint64_t k_raw_chunk = uint64_t{k_sealed_chunk_size} + k_seal_tag_size;

std::atomic<uint64_t> g_reader_serial{0};

SealKind kind_of(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::pack:
      return SealKind::pack_record;
    case ObjectKind::index:
      return SealKind::index_segment;
    case ObjectKind::point:
      return SealKind::point_chunk;
    default:
      return SealKind::state;
  }
}

// What every chunk of one object shares: the associated data's prefix (store id · kind ·
// name length · name) and the base nonce; a chunk adds its number and the last-chunk flag
// to the one and xors its number into the other's last 8 bytes.
struct ChunkContext {
  std::vector<uint8_t> ad;
  size_t prefix = 0;
  std::array<uint8_t, k_seal_nonce_size> base{};
  std::optional<ObjectCipher> cipher;  // once `base` is known

  ChunkContext(const StoreId& store, const ObjectRef& ref) {
    ad = seal_ad(store, kind_of(ref.kind), nullptr, 0);
    put_u32(ad, static_cast<uint32_t>(ref.name.size()));
    put_str(ad, ref.name);
    prefix = ad.size();
    ad.resize(prefix + 9);
  }
  // Sets ad and `nonce` for chunk `n`.
  void chunk(uint64_t n, bool last, uint8_t* nonce) { chunk_into(ad, n, last, nonce); }
  // The same into `out` (the associated data of chunk `n`), leaving this context alone:
  // readers share one context across threads.
  void chunk_into(std::vector<uint8_t>& out, uint64_t n, bool last, uint8_t* nonce) const {
    if (&out != &ad) out.assign(ad.begin(), ad.end());
    set_u64(out.data() + prefix, n);
    out[prefix + 8] = last ? 1 : 0;
    std::memcpy(nonce, base.data(), base.size());
    for (int i = 0; i < 8; ++i) nonce[16 + i] ^= static_cast<uint8_t>(n >> (8 * i));
  }
};

class SealedWriter final : public ObjectWriter {
 public:
  SealedWriter(std::unique_ptr<ObjectWriter> inner, std::shared_ptr<const Sealer> sealer,
               ChunkContext ctx)
      : m_inner(std::move(inner)), m_sealer(std::move(sealer)), m_ctx(std::move(ctx)) {
    random_bytes(m_ctx.base.data(), m_ctx.base.size());
    m_ctx.cipher.emplace(*m_sealer, m_ctx.base.data());
    std::vector<uint8_t> h;
    put_bytes(h, k_magic, 8);
    put_u32(h, k_sealed_version);
    put_u32(h, k_sealed_chunk_size);
    put_bytes(h, m_ctx.base.data(), m_ctx.base.size());
    m_inner->append(h.data(), h.size());
    m_buf.reserve(k_sealed_chunk_size);
    m_out.resize(k_batch * k_raw_chunk);
  }

  void append(const void* data, size_t len) override {
    const auto* p = static_cast<const uint8_t*>(data);
    m_size += len;
    while (len > 0) {
      // A full chunk is sealed only once more bytes follow: the last chunk is marked so.
      if (m_buf.size() == k_sealed_chunk_size) {
        seal(m_buf.data(), m_buf.size(), false);
        m_buf.clear();
      }
      if (m_buf.empty() && len > k_sealed_chunk_size) {  // straight from the caller's bytes
        seal(p, k_sealed_chunk_size, false);
        p += k_sealed_chunk_size;
        len -= k_sealed_chunk_size;
        continue;
      }
      size_t take = std::min(len, k_sealed_chunk_size - m_buf.size());
      m_buf.insert(m_buf.end(), p, p + take);
      p += take;
      len -= take;
    }
  }
  uint64_t size() const override { return m_size; }
  void commit() override {
    seal(m_buf.data(), m_buf.size(), true);
    m_buf.clear();
    hand_on();
    m_inner->commit();
  }

 private:
  // Sealed chunks are handed to the inner writer this many at a time: one write of about
  // 513 KiB, not 64 of 8 KiB + 16 (each of which made ext4 zero the rest of a new page
  // cache folio: a fifth of an encrypted backup's time).
  static constexpr size_t k_batch = 64;

  // Seals one chunk (`len` plain bytes) to the end of the batch.
  void seal(const uint8_t* plain, size_t len, bool last) {
    if (m_out_used + k_raw_chunk > m_out.size()) hand_on();
    uint8_t nonce[k_seal_nonce_size];
    m_ctx.chunk(m_chunk++, last, nonce);
    m_ctx.cipher->seal(m_out.data() + m_out_used, plain, len, nonce + 16, m_ctx.ad.data(),
                       m_ctx.ad.size());
    m_out_used += len + k_seal_tag_size;
  }
  void hand_on() {
    if (m_out_used) m_inner->append(m_out.data(), m_out_used);
    m_out_used = 0;
  }

  std::unique_ptr<ObjectWriter> m_inner;
  std::shared_ptr<const Sealer> m_sealer;
  ChunkContext m_ctx;
  std::vector<uint8_t> m_buf, m_out;
  size_t m_out_used = 0;  // sealed bytes in m_out not yet handed on
  uint64_t m_chunk = 0;
  uint64_t m_size = 0;
};

class SealedReader final : public ObjectReader {
 public:
  SealedReader(std::unique_ptr<ObjectReader> inner, std::shared_ptr<const Sealer> sealer,
               ChunkContext ctx)
      : m_inner(std::move(inner)), m_sealer(std::move(sealer)), m_ctx(std::move(ctx)) {
    const std::string& name = m_inner->name();
    auto plain = sealed_plain_size(m_inner->size(), k_sealed_chunk_size);
    if (!plain) throw Error(ErrorKind::damage, "opening", name, "not a sealed object (its size)");
    uint8_t h[k_header];
    m_inner->read_exact_at(h, sizeof h, 0);
    if (std::memcmp(h, k_magic, 8) != 0) {
      throw Error(ErrorKind::damage, "opening", name, "not a sealed object (bad magic)");
    }
    if (get_u32(h + 8) > k_sealed_version) {
      throw Error(ErrorKind::newer_format, "opening", name,
                  fmt::format("sealed object version {} is newer than this build's {}",
                              get_u32(h + 8), k_sealed_version));
    }
    if (get_u32(h + 8) != k_sealed_version || get_u32(h + 12) != k_sealed_chunk_size) {
      throw Error(ErrorKind::damage, "opening", name, "bad sealed object header");
    }
    std::memcpy(m_ctx.base.data(), h + 16, m_ctx.base.size());
    m_ctx.cipher.emplace(*m_sealer, m_ctx.base.data());
    m_size = *plain;
    m_chunks = m_size == 0 ? 1 : (m_size + k_sealed_chunk_size - 1) / k_sealed_chunk_size;
    // An empty object has nothing a read would open: its one (empty, last) chunk is opened
    // here, or any header with a tag could pass for an empty index, point or pack.
    if (m_size == 0) {
      uint8_t tag[k_seal_tag_size];
      m_inner->read_exact_at(tag, sizeof tag, k_header);
      open_chunk(0, tag, 0);
    }
  }

  uint64_t size() const override { return m_size; }
  const std::string& name() const override { return m_inner->name(); }
  void advise_sequential() const override { m_inner->advise_sequential(); }
  // The sealed chunks holding the plain range.
  void will_need(uint64_t offset, size_t len) const override {
    if (offset >= m_size || len == 0) return;
    const uint64_t end = std::min<uint64_t>(offset + len, m_size);
    const uint64_t first = offset / k_sealed_chunk_size;
    const uint64_t last = (end - 1) / k_sealed_chunk_size;
    m_inner->will_need(k_header + first * k_raw_chunk,
                       static_cast<size_t>((last + 1 - first) * k_raw_chunk));
  }

  // Reads the chunks holding [offset, offset + len) in one read of the inner object and
  // opens each. The last chunk opened is kept for the thread's next read (a record's header
  // and its payload, or the next record, usually share one).
  size_t read_at(void* buf, size_t len, uint64_t offset) const override {
    if (offset >= m_size || len == 0) return 0;
    len = static_cast<size_t>(std::min<uint64_t>(len, m_size - offset));
    uint64_t first = offset / k_sealed_chunk_size;
    const uint64_t last = (offset + len - 1) / k_sealed_chunk_size;
    auto* out = static_cast<uint8_t*>(buf);
    thread_local LastChunk cache;
    if (cache.reader == m_serial && cache.chunk == first) {
      copy_part(out, offset, len, first, cache.plain.data());
      if (first++ == last) return len;
    }
    const uint64_t raw_begin = k_header + first * k_raw_chunk;
    const uint64_t raw_end = std::min<uint64_t>(k_header + (last + 1) * k_raw_chunk,
                                                k_header + m_size + m_chunks * k_seal_tag_size);
    thread_local std::vector<uint8_t> raw;
    raw.resize(raw_end - raw_begin);
    m_inner->read_exact_at(raw.data(), raw.size(), raw_begin);
    for (uint64_t c = first; c <= last; ++c) {
      uint8_t* sealed = raw.data() + (c - first) * k_raw_chunk;
      open_chunk(c, sealed, plain_len(c));
      copy_part(out, offset, len, c, sealed);
    }
    cache.reader = m_serial;
    cache.chunk = last;
    cache.plain.assign(raw.data() + (last - first) * k_raw_chunk,
                       raw.data() + (last - first) * k_raw_chunk + plain_len(last));
    return len;
  }

 private:
  struct LastChunk {
    uint64_t reader = 0;  // a reader's serial number (never reused), 0 for none
    uint64_t chunk = 0;
    std::vector<uint8_t> plain;
  };

  size_t plain_len(uint64_t c) const {
    return static_cast<size_t>(
        std::min<uint64_t>(k_sealed_chunk_size, m_size - c * k_sealed_chunk_size));
  }
  // Copies what [offset, offset + len) wants of chunk `c`, whose plain bytes are `plain`.
  void copy_part(uint8_t* out, uint64_t offset, size_t len, uint64_t c,
                 const uint8_t* plain) const {
    const uint64_t start = c * k_sealed_chunk_size;
    const uint64_t from = std::max(offset, start);
    const uint64_t to = std::min<uint64_t>(offset + len, start + plain_len(c));
    std::memcpy(out + (from - offset), plain + (from - start), to - from);
  }

  // Opens chunk `c` in place (its plain bytes replace the ciphertext).
  void open_chunk(uint64_t c, uint8_t* sealed, size_t plain_len) const {
    thread_local std::vector<uint8_t> ad;
    uint8_t nonce[k_seal_nonce_size];
    m_ctx.chunk_into(ad, c, c + 1 == m_chunks, nonce);
    if (!m_ctx.cipher->open(sealed, sealed, plain_len + k_seal_tag_size, nonce + 16, ad.data(),
                            ad.size())) {
      throw Error(ErrorKind::damage, "opening", m_inner->name(),
                  fmt::format("authentication failed at offset {} (tampered, moved from another "
                              "object or store, or sealed with another key)",
                              c * k_sealed_chunk_size));
    }
  }

  std::unique_ptr<ObjectReader> m_inner;
  std::shared_ptr<const Sealer> m_sealer;
  ChunkContext m_ctx;
  uint64_t m_size = 0;
  uint64_t m_chunks = 1;
  const uint64_t m_serial = ++g_reader_serial;
};

class SealedStorage final : public Storage {
 public:
  SealedStorage(std::unique_ptr<Storage> inner, std::shared_ptr<const Sealer> sealer,
                const StoreId& store)
      : m_inner(std::move(inner)), m_sealer(std::move(sealer)), m_store(store) {}

  std::string location() const override { return m_inner->location(); }
  std::string describe(const ObjectRef& ref) const override { return m_inner->describe(ref); }
  std::unique_ptr<ObjectWriter> create(const ObjectRef& ref, WriteMode mode) const override {
    auto w = m_inner->create(ref, mode);
    if (!sealed_kind(ref.kind)) return w;
    return create_sealed_object(std::move(w), m_sealer, m_store, ref);
  }
  std::unique_ptr<ObjectReader> open(const ObjectRef& ref) const override {
    auto r = m_inner->open(ref);
    if (!sealed_kind(ref.kind)) return r;
    return open_sealed_object(std::move(r), m_sealer, m_store, ref);
  }
  std::optional<uint64_t> size(const ObjectRef& ref) const override {
    auto raw = m_inner->size(ref);
    if (!raw || !sealed_kind(ref.kind)) return raw;
    // An object whose size no sealed object can have still exists and takes its raw bytes;
    // opening it says it is damaged.
    return sealed_plain_size(*raw, k_sealed_chunk_size).value_or(*raw);
  }
  std::vector<std::string> list(ObjectKind kind) const override { return m_inner->list(kind); }
  std::vector<std::string> recent(ObjectKind kind, int64_t seconds) const override {
    return m_inner->recent(kind, seconds);
  }
  bool remove(const ObjectRef& ref) const override { return m_inner->remove(ref); }
  void remove_all(ObjectKind kind, const std::vector<std::string>& names) const override {
    m_inner->remove_all(kind, names);
  }
  size_t clean_leftovers(Leftovers which) const override { return m_inner->clean_leftovers(which); }
  std::unique_ptr<StorageLock> lock(LockMode mode, WriterLock writer, const std::string& command,
                                    bool read_only_ok) const override {
    return m_inner->lock(mode, writer, command, read_only_ok);
  }

 private:
  std::unique_ptr<Storage> m_inner;
  std::shared_ptr<const Sealer> m_sealer;
  StoreId m_store;
};

}  // namespace

bool sealed_kind(ObjectKind kind) {
  return kind == ObjectKind::pack || kind == ObjectKind::index || kind == ObjectKind::point ||
         kind == ObjectKind::state;
}

std::optional<uint64_t> sealed_plain_size(uint64_t sealed_size, uint32_t chunk) {
  const uint64_t raw_chunk = uint64_t{chunk} + k_seal_tag_size;
  if (sealed_size < k_header + k_seal_tag_size) return std::nullopt;
  const uint64_t body = sealed_size - k_header;
  const uint64_t chunks = (body + raw_chunk - 1) / raw_chunk;
  const uint64_t tail = body - (chunks - 1) * raw_chunk;
  if (tail < k_seal_tag_size || (tail == k_seal_tag_size && chunks > 1)) return std::nullopt;
  return body - chunks * k_seal_tag_size;
}

std::unique_ptr<ObjectReader> open_sealed_object(std::unique_ptr<ObjectReader> raw,
                                                 std::shared_ptr<const Sealer> sealer,
                                                 const StoreId& store_id, const ObjectRef& ref) {
  return std::make_unique<SealedReader>(std::move(raw), std::move(sealer),
                                        ChunkContext(store_id, ref));
}

std::unique_ptr<ObjectWriter> create_sealed_object(std::unique_ptr<ObjectWriter> raw,
                                                   std::shared_ptr<const Sealer> sealer,
                                                   const StoreId& store_id, const ObjectRef& ref) {
  return std::make_unique<SealedWriter>(std::move(raw), std::move(sealer),
                                        ChunkContext(store_id, ref));
}

std::unique_ptr<Storage> seal_storage(std::unique_ptr<Storage> inner,
                                      std::shared_ptr<const Sealer> sealer,
                                      const StoreId& store_id) {
  return std::make_unique<SealedStorage>(std::move(inner), std::move(sealer), store_id);
}

}  // namespace vssimg
