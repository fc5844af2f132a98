# Configures a consumer project in a fresh binary directory and checks how it went:
#   cmake -DSOURCE=<dir> -DBINARY=<dir> [-DARGS=<a>|<b>|...] -DEXPECT=success|failure
#         [-DMATCH_1=<regex> ... -DMATCH_9=<regex>] [-DRUN=<program>] -P check_consumer.cmake
# ARGS go to the configure step ('|' between them). Every MATCH_<i> must occur in its output
# (blanks and line breaks read as one space).
# With EXPECT=success and RUN, the project is then built and RUN (in BINARY) must exit with 0.
cmake_minimum_required(VERSION 3.21)

foreach(_var SOURCE BINARY EXPECT)
    if(NOT DEFINED ${_var})
        message(FATAL_ERROR "check_consumer.cmake: -D${_var}= is missing")
    endif()
endforeach()
if(NOT EXPECT MATCHES "^(success|failure)$")
    message(FATAL_ERROR "check_consumer.cmake: EXPECT is '${EXPECT}', not success or failure")
endif()

file(REMOVE_RECURSE "${BINARY}")
string(REPLACE "|" ";" _args "${ARGS}")
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${SOURCE}" -B "${BINARY}" ${_args}
    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
message("${_out}")

if(EXPECT STREQUAL "success" AND NOT _rc EQUAL 0)
    message(FATAL_ERROR "check_consumer.cmake: configuring ${SOURCE} failed (${_rc})")
elseif(EXPECT STREQUAL "failure" AND _rc EQUAL 0)
    message(FATAL_ERROR "check_consumer.cmake: configuring ${SOURCE} succeeded, but it must fail")
endif()
# CMake wraps its error messages: match against the output with every run of blanks and line
# breaks made one space.
string(REGEX REPLACE "[ \t\r\n]+" " " _flat "${_out}")
foreach(_i RANGE 1 9)
    if(DEFINED MATCH_${_i} AND NOT _flat MATCHES "${MATCH_${_i}}")
        message(FATAL_ERROR "check_consumer.cmake: the configure output lacks '${MATCH_${_i}}'")
    endif()
endforeach()

if(EXPECT STREQUAL "success" AND DEFINED RUN)
    execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BINARY}" RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0)
        message(FATAL_ERROR "check_consumer.cmake: building ${SOURCE} failed (${_rc})")
    endif()
    execute_process(COMMAND "${BINARY}/${RUN}" RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0)
        message(FATAL_ERROR "check_consumer.cmake: ${RUN} exited with ${_rc}")
    endif()
endif()
