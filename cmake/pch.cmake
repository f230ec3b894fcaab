# Precompiled headers for the heaviest third-party headers: CLI11 (header-only, ~3 s of
# parsing in each command's translation unit) and fmt in vssimg_cli; Catch2 (the v2
# single header, ~1 s per test file) and fmt in vssimg_tests. GCC, Clang, MinGW and MSVC.
# Off by default under a compiler launcher (ccache does not cache translation units that
# use a precompiled header unless its sloppiness allows it); -DVSSIMG_PCH=ON|OFF decides.
if(CMAKE_CXX_COMPILER_LAUNCHER)
  set(vssimg_pch_default OFF)
else()
  set(vssimg_pch_default ON)
endif()
option(VSSIMG_PCH "Precompile CLI11, fmt and Catch2 headers" ${vssimg_pch_default})
if(NOT VSSIMG_PCH)
  return()
endif()

if(TARGET vssimg_cli)
  target_precompile_headers(vssimg_cli PRIVATE <CLI/CLI.hpp> <fmt/format.h>)
endif()
if(TARGET vssimg_tests)
  target_precompile_headers(vssimg_tests PRIVATE "${PROJECT_SOURCE_DIR}/tests/catch.hpp" <fmt/format.h>)
  # main.cpp defines CATCH_CONFIG_MAIN before its own include of Catch2 (v2): it must not
  # see a Catch2 included before that.
  set_source_files_properties("${PROJECT_SOURCE_DIR}/tests/main.cpp" TARGET_DIRECTORY vssimg_tests
    PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
endif()
