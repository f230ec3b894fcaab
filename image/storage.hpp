// The storage under a store: named objects of a few kinds, each written once and never
// changed, read by byte range, listed by kind and removed; plus the store's locks. Modelled
// on restic's backend (save, load, stat, list, remove): nothing here is a path, a rename,
// a directory or a file handle, so an object store (PUT If-None-Match, ranged GET, HEAD,
// ListObjectsV2, DELETE) implements it as well as a local directory (storage_local.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vssimg {

// What an object is; each kind has its own name space (docs/format.md, "Layout").
enum class ObjectKind {
  config,  // the one config object (name empty)
  pack,    // name: 32 hex digits of the pack id
  index,   // an index segment; name: 32 hex digits
  point,   // a recovery point; name: 16 hex digits of the point id
  lock,    // a lock holder's info; name: <host>-<pid>
  state,   // advisory state a command keeps between runs (name "verify")
  key,     // a key file of an encrypted store; name: key-<16 hex digits>
};

// restic's Handle: which object.
struct ObjectRef {
  ObjectKind kind;
  std::string name;
};

// Where objects of a kind live in every storage (docs/format.md, "Layout"; object keys on
// S3 follow it): a folder under the store's root ("" for the root itself) and the
// extension of their names. Packs are fanned out by the first two hex digits of the name.
struct ObjectPlace {
  const char* folder;
  const char* extension;
};
ObjectPlace object_place(ObjectKind kind);
// Throws Error unless `ref.name` is a valid name for its kind: names become file names and
// keys, and nothing in them may reach outside their folder.
void check_object_name(const ObjectRef& ref);

// Random access to one object's bytes. Reads are thread-safe (a reader may be shared).
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  virtual uint64_t size() const = 0;
  // Reads up to `len` bytes at `offset`; returns fewer only at the end of the object.
  virtual size_t read_at(void* buf, size_t len, uint64_t offset) const = 0;
  // The object as messages name it.
  virtual const std::string& name() const = 0;
  // Hint that the object will be read front to back.
  virtual void advise_sequential() const {}
  // Hint that [offset, offset + len) will be read soon (an object store starts fetching it).
  virtual void will_need(uint64_t offset, size_t len) const {
    (void)offset;
    (void)len;
  }
  // Reads exactly `len` bytes; throws Error(damage, "unexpected end of file") otherwise.
  void read_exact_at(void* buf, size_t len, uint64_t offset) const;
};

// An object's bytes in memory (small objects read whole, fuzzers, tests).
class MemoryReader final : public ObjectReader {
 public:
  MemoryReader(const uint8_t* data, size_t size, std::string name)
      : m_data(data), m_size(size), m_name(std::move(name)) {}
  uint64_t size() const override { return m_size; }
  size_t read_at(void* buf, size_t len, uint64_t offset) const override;
  const std::string& name() const override { return m_name; }

 private:
  const uint8_t* m_data;
  size_t m_size;
  std::string m_name;
};

// A new object written front to back. Nothing is visible under its name until commit()
// returns; destroying an uncommitted writer discards what was appended. Not thread-safe.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual void append(const void* data, size_t len) = 0;
  // Bytes appended so far.
  virtual uint64_t size() const = 0;
  // Makes the object durable and visible at once. Throws Error, with nothing visible, when
  // an object of that name exists (unless created with WriteMode::replace). The writer is
  // inert afterwards.
  virtual void commit() = 0;
};

enum class WriteMode {
  create_new,  // every store object: fails if the name exists (never overwrites)
  replace,     // advisory state only (ObjectKind::state): replaces an existing object whole
};

enum class LockMode { shared, exclusive };

// The writer lock beside the store lock (docs/format.md, "Locks"): backups take it shared
// (they run side by side; it only keeps out builds that wrote one backup at a time), heal
// and repair exclusive.
enum class WriterLock { none, shared, exclusive };

// Which leftovers of interrupted writers clean_leftovers() removes.
enum class Leftovers {
  dead,  // those of writers provably gone (this host's dead processes); under any lock
  all,   // every other writer's too: only under the exclusive store lock
};

// A held store lock; destroying it releases the lock and removes the holder's info.
class StorageLock {
 public:
  virtual ~StorageLock() = default;
};

class Storage {
 public:
  virtual ~Storage() = default;
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // Where the store is, for messages ("/srv/store").
  virtual std::string location() const = 0;
  // An object as messages name it (a path, a URL).
  virtual std::string describe(const ObjectRef& ref) const = 0;

  virtual std::unique_ptr<ObjectWriter> create(const ObjectRef& ref,
                                               WriteMode mode = WriteMode::create_new) const = 0;
  // Opens an existing object. Throws Error when it is missing or unreadable.
  virtual std::unique_ptr<ObjectReader> open(const ObjectRef& ref) const = 0;
  // The object's size, or nothing when there is no such object.
  virtual std::optional<uint64_t> size(const ObjectRef& ref) const = 0;
  // The names of every object of `kind`, sorted (callers judge whether a name is valid).
  virtual std::vector<std::string> list(ObjectKind kind) const = 0;
  // The names of the objects of `kind` written less than `seconds` ago by the storage's own
  // clock (prune's safety window, docs/format.md "Prune"), sorted. None where locks alone
  // keep writers out of a prune (a local directory, an SMB share: OS locks).
  virtual std::vector<std::string> recent(ObjectKind kind, int64_t seconds) const {
    (void)kind;
    (void)seconds;
    return {};
  }
  // Removes an object, durably on return. False when there was none.
  virtual bool remove(const ObjectRef& ref) const = 0;
  // Removes many objects of one kind (missing ones are no error), durably when it returns;
  // cheaper than one remove() each (a local directory is flushed once).
  virtual void remove_all(ObjectKind kind, const std::vector<std::string>& names) const = 0;
  // Discards what interrupted writers left (local: their tmp/ folders), never what a live
  // writer is writing; `which` says how sure the caller is that the others are gone.
  // Returns how many leftovers were removed.
  virtual size_t clean_leftovers(Leftovers which = Leftovers::dead) const = 0;

  // How many new objects a writer may have in flight at once (a backup's packs committed
  // in parallel): 1 for a local directory (its disk gains nothing from more), the
  // connection count for an object store.
  virtual unsigned parallel_writes() const { return 1; }

  // Takes the store lock in `mode` and the `writer` lock, and records this process as
  // their holder, running `command`. Never waits: throws Error(store_locked) naming the
  // holders when refused. The lock does not outlive the process (a killed holder never
  // blocks the store). When this user cannot write the store: returns null (no lock
  // taken) if `read_only_ok`, else throws Error(privilege) saying `command` must write.
  virtual std::unique_ptr<StorageLock> lock(LockMode mode, WriterLock writer,
                                            const std::string& command,
                                            bool read_only_ok = false) const = 0;

  // Writes a whole new object (create, append, commit).
  void write(const ObjectRef& ref, const void* data, size_t len,
             WriteMode mode = WriteMode::create_new) const;
  // Reads up to `len` bytes of an object at `offset` into `buf`; fewer only at its end.
  size_t read_at(const ObjectRef& ref, void* buf, size_t len, uint64_t offset) const;
  // Reads a whole object of at most `max_size` bytes. Throws Error(damage) if larger.
  std::vector<uint8_t> read_all(const ObjectRef& ref, uint64_t max_size) const;
};

}  // namespace vssimg
