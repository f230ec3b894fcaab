# Dependencies: system packages on Debian (find_package / pkg-config), vcpkg on
# Windows, header-only copies plus a cross-built lz4 for the MinGW build. Nothing is
# downloaded at configure time.
find_package(Threads REQUIRED)

# fmt: a compiled library on Debian and vcpkg; header-only for the MinGW cross build.
if(VSSIMG_FMT_HEADER_ONLY)
  add_library(vssimg_fmt INTERFACE)
  target_compile_definitions(vssimg_fmt INTERFACE FMT_HEADER_ONLY=1)
  target_include_directories(vssimg_fmt SYSTEM INTERFACE ${VSSIMG_FMT_INCLUDE_DIR})
  add_library(fmt::fmt ALIAS vssimg_fmt)
else()
  find_package(fmt REQUIRED)
endif()

# CLI11: header-only.
find_package(CLI11 CONFIG QUIET)
if(NOT TARGET CLI11::CLI11)
  find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  target_include_directories(CLI11::CLI11 SYSTEM INTERFACE ${CLI11_INCLUDE_DIR})
endif()

# xxHash: used header-only (XXH_INLINE_ALL) so the hot path inlines.
find_path(XXHASH_INCLUDE_DIR xxhash.h REQUIRED)
add_library(vssimg_xxhash INTERFACE)
target_include_directories(vssimg_xxhash SYSTEM INTERFACE ${XXHASH_INCLUDE_DIR})

# lz4: pkg-config on Debian, a config package on vcpkg, or a given library (MinGW).
if(VSSIMG_LZ4_LIBRARY)
  add_library(vssimg_lz4 INTERFACE)
  target_include_directories(vssimg_lz4 SYSTEM INTERFACE ${VSSIMG_LZ4_INCLUDE_DIR})
  target_link_libraries(vssimg_lz4 INTERFACE ${VSSIMG_LZ4_LIBRARY})
else()
  find_package(lz4 CONFIG QUIET)
  if(TARGET lz4::lz4)
    add_library(vssimg_lz4 INTERFACE)
    target_link_libraries(vssimg_lz4 INTERFACE lz4::lz4)
  else()
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
    add_library(vssimg_lz4 INTERFACE)
    target_link_libraries(vssimg_lz4 INTERFACE PkgConfig::LZ4)
  endif()
endif()

# libsodium (the AEAD, keyed BLAKE2b and Argon2id of encrypted stores): pkg-config on
# Debian, a config package on vcpkg, or a given library (MinGW, built by
# scripts/build-windows from Debian's source package). VSSIMG_SODIUM=OFF builds without
# it: encrypted stores are then refused with one line (core/base/crypto_none.cpp).
option(VSSIMG_SODIUM "Build with libsodium (encrypted stores)" ON)
if(NOT VSSIMG_SODIUM)
  add_library(vssimg_sodium INTERFACE)
elseif(VSSIMG_SODIUM_LIBRARY)
  add_library(vssimg_sodium INTERFACE)
  target_include_directories(vssimg_sodium SYSTEM INTERFACE ${VSSIMG_SODIUM_INCLUDE_DIR})
  target_link_libraries(vssimg_sodium INTERFACE ${VSSIMG_SODIUM_LIBRARY})
  target_compile_definitions(vssimg_sodium INTERFACE SODIUM_STATIC=1)
  if(WIN32)
    # A static libsodium's randombytes calls RtlGenRandom (SystemFunction036).
    target_link_libraries(vssimg_sodium INTERFACE advapi32)
  endif()
else()
  find_package(unofficial-sodium CONFIG QUIET)
  if(TARGET unofficial-sodium::sodium)
    add_library(vssimg_sodium INTERFACE)
    target_link_libraries(vssimg_sodium INTERFACE unofficial-sodium::sodium)
  else()
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
    add_library(vssimg_sodium INTERFACE)
    target_link_libraries(vssimg_sodium INTERFACE PkgConfig::SODIUM)
  endif()
endif()
# OpenSSL's libcrypto: the block ids of encrypted stores (AES-256-GCM's GMAC, then
# AES-256: docs/format.md, "Choice of block id") outside Windows, where CNG computes them,
# so required there; and the sealing of their chunks (its ChaCha20-Poly1305 is about 2.4x
# libsodium's here: docs/format.md, "Encryption"; the bytes are the same as libsodium's
# XChaCha20-Poly1305, so builds with and without it, as the MinGW cross build, read each
# other's stores). Debian package libssl-dev, vcpkg openssl.
set(VSSIMG_HAVE_LIBCRYPTO OFF)
if(VSSIMG_SODIUM AND NOT (MINGW AND CMAKE_CROSSCOMPILING))
  if(WIN32)
    find_package(OpenSSL QUIET COMPONENTS Crypto)
  else()
    find_package(OpenSSL REQUIRED COMPONENTS Crypto)
  endif()
  if(TARGET OpenSSL::Crypto)
    set(VSSIMG_HAVE_LIBCRYPTO ON)
  endif()
endif()

# libcurl: the S3 storage (image/storage_s3*: HTTP; SigV4 over libsodium). Debian package
# libcurl4-openssl-dev, vcpkg curl. Without it (the MinGW cross build) the build still works
# and an s3:// store is refused with one clear message.
set(VSSIMG_HAVE_S3 OFF)
option(VSSIMG_S3 "Build the S3 storage (needs libcurl and libsodium)" ON)
if(VSSIMG_S3 AND MINGW AND CMAKE_CROSSCOMPILING)
  # scripts/build-windows cross-builds from Debian, which has no Windows libcurl.
  message(STATUS "vssimg: MinGW cross build: no S3 storage (s3:// stores are refused)")
elseif(VSSIMG_S3)
  find_package(CURL QUIET)
  if(TARGET CURL::libcurl AND VSSIMG_SODIUM)
    set(VSSIMG_HAVE_S3 ON)
    # SHA-256 of every uploaded byte (SigV4 payload hash): OpenSSL's libcrypto when found
    # (SHA-NI / AVX2: ~1 GiB/s here against libsodium's portable ~150-200 MiB/s,
    # docs/benchmarks.md "Object storage"), else libsodium's. libcurl links it on Debian.
    find_package(OpenSSL QUIET COMPONENTS Crypto)
    set(VSSIMG_S3_OPENSSL ${OpenSSL_FOUND})
  else()
    message(STATUS "vssimg: libcurl not found or VSSIMG_SODIUM=OFF; building without the S3 storage")
  endif()
endif()
