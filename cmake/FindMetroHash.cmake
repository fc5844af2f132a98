# FindMetroHash: Debian's libmetrohash-dev ships <metrohash/metrohash64.h> and libmetrohash, but no
# CMake package config.
#
# Defines MetroHash_FOUND, MetroHash_INCLUDE_DIR (the directory holding metrohash/) and
# MetroHash_LIBRARY. bloom wraps them in its bloom::metrohash target (BloomOptionalHashes.cmake).
# CMAKE_DISABLE_FIND_PACKAGE_MetroHash=ON builds without MetroHash even when it is installed.
find_path(MetroHash_INCLUDE_DIR NAMES metrohash/metrohash64.h)
find_library(MetroHash_LIBRARY NAMES metrohash)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(MetroHash REQUIRED_VARS MetroHash_LIBRARY MetroHash_INCLUDE_DIR)
mark_as_advanced(MetroHash_INCLUDE_DIR MetroHash_LIBRARY)
