# The optional MPI target: bloom::mpi, for <bloom/dist/mpi.hpp> (data-parallel training and
# sharded evaluation). bloom::bloom never needs MPI; a project that wants it links bloom::mpi.
#
# bloom_define_mpi(<core> <wanted>): with <wanted> ON, finds MPI (find_package(MPI COMPONENTS CXX))
# and makes bloom::mpi link <core> and MPI::MPI_CXX, with BLOOM_HAS_MPI=1 defined; MPI missing is
# an error naming the Debian packages. With <wanted> OFF, bloom::mpi is a placeholder whose use
# stops generation with a message (as the optional hash targets do). Sets BLOOM_HAS_MPI (ON/OFF)
# in the caller's scope, and BLOOM_MPIEXEC_FLAGS (the flags bloom's tests give mpirun).
set(BLOOM_MPI_PACKAGES "libopenmpi-dev openmpi-bin")

function(bloom_define_mpi core wanted)
    if(TARGET bloom::mpi)
        get_target_property(_found bloom::mpi BLOOM_FOUND)
        set(BLOOM_HAS_MPI ${_found} PARENT_SCOPE)
        return()
    endif()
    add_library(bloom_mpi INTERFACE IMPORTED GLOBAL)
    if(wanted)
        find_package(MPI COMPONENTS CXX)
        if(NOT MPI_CXX_FOUND)
            message(FATAL_ERROR "bloom: BLOOM_MPI is ON but no MPI was found for C++. Install it "
                "(Debian: apt-get install ${BLOOM_MPI_PACKAGES}) or configure with -DBLOOM_MPI=OFF")
        endif()
        set_target_properties(bloom_mpi PROPERTIES
            INTERFACE_LINK_LIBRARIES "${core};MPI::MPI_CXX"
            INTERFACE_COMPILE_DEFINITIONS "BLOOM_HAS_MPI=1"
            BLOOM_FOUND TRUE)
        set(BLOOM_HAS_MPI ON PARENT_SCOPE)
        # bloom's own tests run mpirun: Open MPI refuses to run as root (CI and containers are
        # root) and to start more ranks than cores without these flags; other MPIs lack them.
        set(_flags ${MPIEXEC_PREFLAGS})
        execute_process(COMMAND "${MPIEXEC_EXECUTABLE}" --version OUTPUT_VARIABLE _version
                        ERROR_QUIET RESULT_VARIABLE _rc)
        if(_version MATCHES "Open MPI|OpenRTE")
            list(APPEND _flags --oversubscribe --allow-run-as-root)
        endif()
        set(BLOOM_MPIEXEC_FLAGS "${_flags}" CACHE INTERNAL "mpirun flags for bloom's tests")
    else()
        # No ';' and no '>' inside the expression (see BloomOptionalHashes.cmake).
        set_target_properties(bloom_mpi PROPERTIES
            INTERFACE_LINK_LIBRARIES
                "$<bloom::mpi is unavailable: configure bloom with -DBLOOM_MPI=ON (it needs an MPI: apt-get install ${BLOOM_MPI_PACKAGES}), or link bloom::mpi only if(BLOOM_HAS_MPI)>"
            BLOOM_FOUND FALSE)
        set(BLOOM_HAS_MPI OFF PARENT_SCOPE)
    endif()
    add_library(bloom::mpi ALIAS bloom_mpi)
endfunction()
