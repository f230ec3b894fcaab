# Windows additions to the unit test binary (MinGW under Wine, or MSVC): the VSS wrapper
# driven by the fake IVssBackupComponents, and the Windows core code.
target_sources(vssimg_tests PRIVATE
  win32/test_win32_core.cpp
  vss/fake_vss.cpp
  vss/test_vss_session.cpp
  vss/test_vss_backup.cpp
  vss/test_vss_requester.cpp
  vss/test_vss_multivolume.cpp
)
target_link_libraries(vssimg_tests PRIVATE vssimg_vss)
# Catch2 v2 would define wmain for UNICODE builds; MinGW links main.
target_compile_definitions(vssimg_tests PRIVATE DO_NOT_USE_WMAIN)

# The ext/NTFS allocation-map tests build filesystems with mkfs.ext4 and mkntfs (Linux
# tools, POSIX process calls); the Windows binary leaves them out.
get_target_property(vssimg_test_sources vssimg_tests SOURCES)
list(REMOVE_ITEM vssimg_test_sources core/test_fs_ext.cpp core/test_fs_ntfs.cpp)
set_property(TARGET vssimg_tests PROPERTY SOURCES ${vssimg_test_sources})
