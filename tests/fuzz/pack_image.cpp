// Converts a filesystem image into the compact fuzz input of fuzz_sparse_source.hpp,
// leaving out all-zero sectors and writing sectors of one repeated byte as fill records,
// so seeds stay small. Usage: fuzz_pack_image IMAGE OUT
#include "core/base/bytes.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_pack_image IMAGE OUT\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::vector<uint8_t> img((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<uint8_t> out;
  vssimg::put_u32(out, static_cast<uint32_t>(img.size() / 512));
  for (size_t s = 0; s * 512 < img.size(); ++s) {
    const uint8_t* p = img.data() + s * 512;
    size_t n = std::min<size_t>(512, img.size() - s * 512);
    bool uniform = n == 512;
    for (size_t i = 1; i < n && uniform; ++i) uniform = p[i] == p[0];
    if (uniform && p[0] == 0) continue;
    if (uniform) {
      vssimg::put_u32(out, static_cast<uint32_t>(s) | 0x80000000u);
      vssimg::put_u8(out, p[0]);
      continue;
    }
    vssimg::put_u32(out, static_cast<uint32_t>(s));
    vssimg::put_bytes(out, p, n);
  }
  std::ofstream(argv[2], std::ios::binary)
      .write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
  return 0;
}
