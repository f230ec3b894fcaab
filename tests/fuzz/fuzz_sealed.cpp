// libFuzzer target: sealed objects of encrypted stores (image/storage_sealed.cpp). The
// input is read as a sealed object (size, header, chunks: any answer but an Error is a
// bug, and nothing may open under a key that never sealed it), and, sealed as plain bytes
// under a fixed key, must read back the same by any range.
#include "core/base/crypto.hpp"
#include "core/base/error.hpp"
#include "image/storage_sealed.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace {

using namespace vssimg;

// Collects what a sealed writer appends.
class VectorWriter final : public ObjectWriter {
 public:
  explicit VectorWriter(std::vector<uint8_t>& out) : m_out(out) {}
  void append(const void* data, size_t len) override {
    const auto* p = static_cast<const uint8_t*>(data);
    m_out.insert(m_out.end(), p, p + len);
  }
  uint64_t size() const override { return m_out.size(); }
  void commit() override {}

 private:
  std::vector<uint8_t>& m_out;
};

const Sealer& sealer() {
  static MasterKey key;  // all zero: the fuzzer's fixed key
  static Sealer s(key);
  return s;
}

std::shared_ptr<const Sealer> shared_sealer() {
  return std::shared_ptr<const Sealer>(&sealer(), [](const Sealer*) {});
}

const ObjectRef k_ref{ObjectKind::pack, "00112233445566778899aabbccddeeff"};

void read_as_sealed(const uint8_t* data, size_t size) {
  try {
    auto r = open_sealed_object(std::make_unique<MemoryReader>(data, size, "fuzz"), shared_sealer(),
                                StoreId{}, k_ref);
    std::vector<uint8_t> buf(std::min<uint64_t>(r->size(), 1 << 20));
    r->read_at(buf.data(), buf.size(), 0);
    __builtin_trap();  // random bytes authenticated under a key that never sealed them
  } catch (const Error&) {
  }
}

void round_trip(const uint8_t* data, size_t size) {
  std::vector<uint8_t> sealed;
  auto w = create_sealed_object(std::make_unique<VectorWriter>(sealed), shared_sealer(), StoreId{},
                                k_ref);
  w->append(data, size);
  w->commit();
  auto r = open_sealed_object(std::make_unique<MemoryReader>(sealed.data(), sealed.size(), "fuzz"),
                              shared_sealer(), StoreId{}, k_ref);
  if (r->size() != size) __builtin_trap();
  std::vector<uint8_t> got(size);
  const size_t step = size / 3 + 1;
  for (size_t at = 0; at < size; at += step) {
    size_t n = r->read_at(got.data() + at, std::min(step, size - at), at);
    if (n != std::min(step, size - at)) __builtin_trap();
  }
  if (!std::equal(got.begin(), got.end(), data)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  read_as_sealed(data, size);
  round_trip(data, size);
  return 0;
}
