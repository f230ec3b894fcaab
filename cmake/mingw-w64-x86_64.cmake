# Cross-compiling vssimg for 64-bit Windows with Debian's MinGW-w64 (posix threads
# variant, so std::thread and std::mutex work). Used by scripts/build-windows.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(VSSIMG_MINGW_PREFIX x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${VSSIMG_MINGW_PREFIX}-gcc-posix)
set(CMAKE_CXX_COMPILER ${VSSIMG_MINGW_PREFIX}-g++-posix)
set(CMAKE_RC_COMPILER ${VSSIMG_MINGW_PREFIX}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${VSSIMG_MINGW_PREFIX})
# Never pick up the build machine's /usr/include or libraries: every third-party
# header directory is handed over explicitly (see scripts/build-windows).
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# One self-contained .exe: no libgcc/libstdc++/winpthread DLLs next to it.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")
# Windows 10 / Server 2016 and later.
add_compile_definitions(_WIN32_WINNT=0x0A00 WINVER=0x0A00 UNICODE _UNICODE)

set(CMAKE_CROSSCOMPILING_EMULATOR wine64)
