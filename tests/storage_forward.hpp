// A Storage that hands every call to another one: tests derive from it and override the
// calls they watch or hold up (a journal of commits, a gate on opening packs).
#pragma once

#include "image/storage.hpp"

#include <memory>
#include <string>
#include <vector>

namespace vssimg::test {

class ForwardingStorage : public Storage {
 public:
  explicit ForwardingStorage(std::unique_ptr<Storage> inner) : m_inner(std::move(inner)) {}
  std::string location() const override { return m_inner->location(); }
  std::string describe(const ObjectRef& r) const override { return m_inner->describe(r); }
  std::unique_ptr<ObjectWriter> create(const ObjectRef& r, WriteMode m) const override {
    return m_inner->create(r, m);
  }
  std::unique_ptr<ObjectReader> open(const ObjectRef& r) const override { return m_inner->open(r); }
  std::optional<uint64_t> size(const ObjectRef& r) const override { return m_inner->size(r); }
  std::vector<std::string> list(ObjectKind k) const override { return m_inner->list(k); }
  std::vector<std::string> recent(ObjectKind k, int64_t seconds) const override {
    return m_inner->recent(k, seconds);
  }
  bool remove(const ObjectRef& r) const override { return m_inner->remove(r); }
  void remove_all(ObjectKind k, const std::vector<std::string>& n) const override {
    m_inner->remove_all(k, n);
  }
  size_t clean_leftovers(Leftovers w) const override { return m_inner->clean_leftovers(w); }
  std::unique_ptr<StorageLock> lock(LockMode m, WriterLock w, const std::string& c,
                                    bool ro) const override {
    return m_inner->lock(m, w, c, ro);
  }
  unsigned parallel_writes() const override { return m_inner->parallel_writes(); }

 protected:
  const Storage& inner() const { return *m_inner; }

 private:
  std::unique_ptr<Storage> m_inner;
};

}  // namespace vssimg::test
