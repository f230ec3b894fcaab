# Windows additions to the unit test binary (MinGW under Wine, or MSVC): the VSS wrapper
# driven by the fake IVssBackupComponents, and the Windows core code.
target_sources(vssimg_tests PRIVATE
  win32/test_win32_core.cpp
  vss/fake_vss.cpp
  vss/test_vss_session.cpp
  vss/test_vss_backup.cpp
)
target_link_libraries(vssimg_tests PRIVATE vssimg_vss)
# Catch2 v2 would define wmain for UNICODE builds; MinGW links main.
target_compile_definitions(vssimg_tests PRIVATE DO_NOT_USE_WMAIN)
