// libFuzzer target: the checking VHDX reader (image/vhdx_reader.cpp). A valid export
// layout is built once; each input patches bytes of it (u32 offset, u8 length, bytes),
// optionally with the header and region-table CRCs recomputed afterwards (flag byte
// first), so that the fuzzer gets past the checksums to the tables behind them.
#include "core/base/bytes.hpp"
#include "core/base/error.hpp"
#include "core/source/block_source.hpp"
#include "image/export_plan.hpp"
#include "image/vhdx_format.hpp"
#include "image/vhdx_reader.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

namespace {

using namespace vssimg;

struct Base {
  std::vector<uint8_t> head;
  uint64_t file_size = 0;
};

const Base& base() {
  static const Base b = [] {
    BlockId data;
    data.bytes.fill(0x42);
    std::vector<BlockId> map = {data, BlockId::free_marker(), BlockId::zero_marker(), data};
    const ExportLayout plan = plan_export(map, 1 << 20, 4 << 20, 1 << 20,
                                          guid_from_string(gpt::k_basic_data), "0123456789abcdef");
    return Base{encode_vhdx_head(plan.geometry, export_identity("x"), plan.bat), plan.file_size};
  }();
  return b;
}

// The base file with patches; payload bytes (past the head) read as 0xA5.
class PatchedFile final : public BlockSource {
 public:
  explicit PatchedFile(uint64_t size) : m_size(size) {}
  std::string name() const override { return "fuzz.vhdx"; }
  uint64_t size() const override { return m_size; }
  void read_at(void* buf, size_t len, uint64_t offset) override {
    if (offset > m_size || len > m_size - offset) __builtin_trap();  // the reader checks first
    auto* out = static_cast<uint8_t*>(buf);
    const auto& head = base().head;
    const size_t in_head = offset < head.size() ? std::min<size_t>(len, head.size() - offset) : 0;
    if (in_head) std::memcpy(out, head.data() + offset, in_head);
    std::memset(out + in_head, 0xA5, len - in_head);
    for (auto p = m_patch.lower_bound(offset); p != m_patch.end() && p->first < offset + len; ++p)
      out[p->first - offset] = p->second;
  }
  void patch(uint64_t at, uint8_t v) { m_patch[at] = v; }
  void fix_crc(uint64_t at, size_t len) {
    std::vector<uint8_t> bytes(len);
    read_at(bytes.data(), len, at);
    std::memset(bytes.data() + 4, 0, 4);
    uint8_t crc[4];
    set_u32(crc, crc32c(bytes.data(), len));
    for (int i = 0; i < 4; ++i) patch(at + 4 + i, crc[i]);
  }

 private:
  uint64_t m_size;
  std::map<uint64_t, uint8_t> m_patch;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const uint64_t file_size =
      (flags & 4) ? base().file_size - (static_cast<uint64_t>(flags >> 3) << 16) : base().file_size;
  PatchedFile file(file_size);
  for (size_t off = 1; off + 5 <= size;) {
    const uint64_t at = get_u32(data + off) % (base().head.size() + (1u << 20));
    const size_t len = std::min<size_t>(data[off + 4], size - off - 5);
    for (size_t i = 0; i < len; ++i) file.patch(at + i, data[off + 5 + i]);
    off += 5 + len;
  }
  if (flags & 1) {
    file.fix_crc(vhdx::k_header1, vhdx::k_header_size);
    file.fix_crc(vhdx::k_header2, vhdx::k_header_size);
  }
  if (flags & 2) {
    file.fix_crc(vhdx::k_region1, vhdx::k_region_size);
    file.fix_crc(vhdx::k_region2, vhdx::k_region_size);
  }
  try {
    VhdxReader reader(file);
    std::vector<uint8_t> buf(1 << 16);
    const uint64_t disk = reader.geometry().virtual_size;
    for (uint64_t at : {uint64_t{0}, disk / 2, disk - std::min<uint64_t>(disk, buf.size())})
      reader.read(buf.data(), std::min<uint64_t>(buf.size(), disk - at), at);
  } catch (const Error&) {
  }
  return 0;
}
