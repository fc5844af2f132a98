# FindxxHash: Debian's libxxhash-dev ships headers and a library but no CMake package config.
#
# Defines
#   xxHash_FOUND, xxHash_INCLUDE_DIR, xxHash_LIBRARY (the compiled library, if present)
#   xxHash::xxhash          INTERFACE IMPORTED: the include directory only. bloom inlines
#                           xxHash through XXH_INLINE_ALL and needs no library.
#   xxHash::xxhash_library  the compiled libxxhash, when found (bloom's tests use it as the
#                           reference for the inlined policies).
find_path(xxHash_INCLUDE_DIR NAMES xxhash.h)
find_library(xxHash_LIBRARY NAMES xxhash)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(xxHash REQUIRED_VARS xxHash_INCLUDE_DIR)

if(xxHash_FOUND AND NOT TARGET xxHash::xxhash)
    add_library(xxHash::xxhash INTERFACE IMPORTED)
    set_target_properties(xxHash::xxhash PROPERTIES
        INTERFACE_INCLUDE_DIRECTORIES "${xxHash_INCLUDE_DIR}")
endif()
if(xxHash_FOUND AND xxHash_LIBRARY AND NOT TARGET xxHash::xxhash_library)
    add_library(xxHash::xxhash_library UNKNOWN IMPORTED)
    set_target_properties(xxHash::xxhash_library PROPERTIES
        IMPORTED_LOCATION "${xxHash_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${xxHash_INCLUDE_DIR}")
endif()
mark_as_advanced(xxHash_INCLUDE_DIR xxHash_LIBRARY)
