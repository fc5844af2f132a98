# Optional hash policies. Each wraps a Debian package and gets its own INTERFACE target:
#   bloom::farmhash   libfarmhash-dev   <bloom/hash/farmhash.hpp>   found by FindFarmHash.cmake
#   bloom::metrohash  libmetrohash-dev  <bloom/hash/metrohash.hpp>  found by FindMetroHash.cmake
#   bloom::crypto     libssl-dev        <bloom/hash/crypto.hpp>     CMake's FindOpenSSL (Crypto)
#                                       (MD5, SHA-1, SHA-256)
# The three targets always exist. When a package is missing, its target is a placeholder that
# links nothing but an error: a project that links it fails to generate with a message naming the
# Debian package, where CMake would only say that the target was not found.
#
# BLOOM_HAS_FARMHASH, BLOOM_HAS_METROHASH and BLOOM_HAS_CRYPTO (ON or OFF) say which packages
# were found, and so does each target's BLOOM_FOUND property. CMAKE_DISABLE_FIND_PACKAGE_FarmHash
# (_MetroHash, _OpenSSL) set to ON leaves a package out even when it is installed.
#
# Used by bloom's own CMakeLists.txt (with the in-tree `bloom` target) and by the installed
# bloomConfig.cmake (with the imported bloom::bloom), so both kinds of user see the same targets.

# The optional targets (the package config's components) and the Debian package of each.
set(BLOOM_OPTIONAL_HASHES farmhash metrohash crypto)
set(BLOOM_farmhash_PACKAGE libfarmhash-dev)
set(BLOOM_metrohash_PACKAGE libmetrohash-dev)
set(BLOOM_crypto_PACKAGE libssl-dev)

# bloom_optional_hash_target(<name> <found> <what> [<link item>...]): defines bloom::<name>. Found,
# it links the given items and defines BLOOM_HAS_<NAME>=1. Not found, it is the placeholder: its
# link interface is a generator expression that does not exist, whose evaluation (for any target
# that links bloom::<name>, directly or not) stops generation and prints its text.
function(bloom_optional_hash_target name found what)
    string(TOUPPER "${name}" _up)
    set(_pkg "${BLOOM_${name}_PACKAGE}")
    add_library(bloom_${name} INTERFACE IMPORTED GLOBAL)
    if(found)
        set_target_properties(bloom_${name} PROPERTIES
            INTERFACE_LINK_LIBRARIES "${ARGN}"
            INTERFACE_COMPILE_DEFINITIONS "BLOOM_HAS_${_up}=1"
            BLOOM_FOUND TRUE)
    else()
        # No ';' (it would split the list) and no '>' (it would end the expression early).
        set_target_properties(bloom_${name} PROPERTIES
            INTERFACE_LINK_LIBRARIES
                "$<bloom::${name} is unavailable: ${what} was not found. Install the Debian package ${_pkg} (apt-get install ${_pkg}) and configure again, or link bloom::${name} only if(BLOOM_HAS_${_up})>"
            BLOOM_FOUND FALSE)
    endif()
    add_library(bloom::${name} ALIAS bloom_${name})
endfunction()

# bloom_define_optional_hashes(<core>): finds the packages and defines the three targets, each
# linking <core> when found; sets BLOOM_HAS_* in the caller's scope. A target that already exists
# (the package config read twice, or after bloom's own CMakeLists.txt) is kept as it is.
function(bloom_define_optional_hashes core)
    if(NOT TARGET bloom::farmhash)
        find_package(FarmHash MODULE QUIET)
        bloom_optional_hash_target(farmhash "${FarmHash_FOUND}" "FarmHash"
            ${core} "${FarmHash_LIBRARY}")
        if(FarmHash_FOUND)
            target_include_directories(bloom_farmhash INTERFACE "${FarmHash_INCLUDE_DIR}")
        endif()
    endif()
    if(NOT TARGET bloom::metrohash)
        find_package(MetroHash MODULE QUIET)
        bloom_optional_hash_target(metrohash "${MetroHash_FOUND}" "MetroHash"
            ${core} "${MetroHash_LIBRARY}")
        if(MetroHash_FOUND)
            target_include_directories(bloom_metrohash INTERFACE "${MetroHash_INCLUDE_DIR}")
        endif()
    endif()
    if(NOT TARGET bloom::crypto)
        find_package(OpenSSL QUIET COMPONENTS Crypto)
        if(OpenSSL_FOUND AND TARGET OpenSSL::Crypto)
            bloom_optional_hash_target(crypto TRUE "OpenSSL's libcrypto" ${core} OpenSSL::Crypto)
        else()
            bloom_optional_hash_target(crypto FALSE "OpenSSL's libcrypto")
        endif()
    endif()
    foreach(_name IN LISTS BLOOM_OPTIONAL_HASHES)
        string(TOUPPER "${_name}" _up)
        get_target_property(_found bloom::${_name} BLOOM_FOUND)
        if(_found)
            set(BLOOM_HAS_${_up} ON PARENT_SCOPE)
        else()
            set(BLOOM_HAS_${_up} OFF PARENT_SCOPE)
        endif()
    endforeach()
endfunction()
