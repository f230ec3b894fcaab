# The Windows test binary (MinGW under Wine, or MSVC): the VSS wrapper against the fake
# IVssBackupComponents, the Windows core code, and the portable unit tests.
add_executable(vssimg_win_tests
  win32/main.cpp
  win32/test_win32_core.cpp
  vss/fake_vss.cpp
  vss/test_vss_session.cpp
  vss/test_vss_tables.cpp
)
if(VSSIMG_CATCH2_INCLUDE_DIR)
  target_include_directories(vssimg_win_tests SYSTEM PRIVATE ${VSSIMG_CATCH2_INCLUDE_DIR})
endif()
target_link_libraries(vssimg_win_tests PRIVATE vssimg_vss vssimg_core fmt::fmt vssimg_warnings)
add_test(NAME vssimg_win_tests COMMAND vssimg_win_tests)
