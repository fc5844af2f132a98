# A cpp block of README.md must be, line for line, EXAMPLE (examples/readme.cpp, ...) from its first
# #include on), so that the snippet users copy is the one the tests compile and run.
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
string(FIND "${example}" "#include <bloom/bloom.hpp>" start)
string(SUBSTRING "${example}" ${start} -1 example_body)
string(FIND "${readme}" "${example_body}" found)
if(found EQUAL -1)
    message(FATAL_ERROR "README.md has no cpp block equal to ${EXAMPLE}: copy the file's "
                        "code (from #include <bloom/bloom.hpp>) into the README's cpp block")
endif()
