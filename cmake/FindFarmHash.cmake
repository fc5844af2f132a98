# FindFarmHash: Debian's libfarmhash-dev ships <farmhash.h> and libfarmhash, but no CMake package
# config.
#
# Defines FarmHash_FOUND, FarmHash_INCLUDE_DIR and FarmHash_LIBRARY. bloom wraps them in its
# bloom::farmhash target (BloomOptionalHashes.cmake). CMAKE_DISABLE_FIND_PACKAGE_FarmHash=ON
# builds without FarmHash even when it is installed.
find_path(FarmHash_INCLUDE_DIR NAMES farmhash.h)
find_library(FarmHash_LIBRARY NAMES farmhash)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(FarmHash REQUIRED_VARS FarmHash_LIBRARY FarmHash_INCLUDE_DIR)
mark_as_advanced(FarmHash_INCLUDE_DIR FarmHash_LIBRARY)
