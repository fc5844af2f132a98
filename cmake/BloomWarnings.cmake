# Warnings (and, with BLOOM_WERROR, errors) for bloom's own targets only: tests, examples and
# benchmarks. Never added to bloom::bloom, so users' builds keep their own flags.
function(bloom_target_warnings target)
    if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
        target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
        if(BLOOM_WERROR)
            target_compile_options(${target} PRIVATE -Werror)
        endif()
    elseif(MSVC)
        target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${BLOOM_WERROR}>:/WX>)
    endif()
endfunction()
