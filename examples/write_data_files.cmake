# Run by ctest before the examples' data-option tests: writes small ratings files in DIR, the
# same 1,200 interactions (120 users x 10 items each, out of 200 items) in the layouts --data
# must read, byte for byte (CRLF line ends and a byte-order mark cannot be trusted to a checkout):
#   plain.csv     user,item                        no header, LF
#   crlf-bom.csv  a UTF-8 byte-order mark, the header userId,movieId, CRLF line ends
#   header.tsv    the header time<TAB>item<TAB>user, then time, item, user columns
#   u.data        MovieLens 100K's layout: user<TAB>item<TAB>rating<TAB>timestamp
#   cr-only.csv   user,item with \r-only (old Mac) line ends: an error that must show the \r
cmake_minimum_required(VERSION 3.21)
if(NOT DIR)
    message(FATAL_ERROR "write_data_files.cmake: pass -DDIR=<folder>")
endif()
file(MAKE_DIRECTORY "${DIR}")
string(ASCII 239 187 191 _bom)
set(_plain "")
set(_crlf "${_bom}userId,movieId\r\n")
set(_tsv "time\titem\tuser\n")
set(_udata "")
set(_cr "")
foreach(_u RANGE 1 120)
    foreach(_j RANGE 0 9)
        # Item ids spread over 1..200, distinct within a user; popular ones shared by many.
        math(EXPR _i "(${_u} * 7 + ${_j} * ${_j} * 13 + ${_j}) % 200 + 1")
        math(EXPR _t "880000000 + ${_u} * 100 + ${_j}")
        math(EXPR _r "(${_u} + ${_j}) % 5 + 1")
        string(APPEND _plain "${_u},${_i}\n")
        string(APPEND _crlf "${_u},${_i}\r\n")
        string(APPEND _tsv "${_t}\t${_i}\t${_u}\n")
        string(APPEND _udata "${_u}\t${_i}\t${_r}\t${_t}\n")
        string(APPEND _cr "${_u},${_i}\r")
    endforeach()
endforeach()
file(WRITE "${DIR}/plain.csv" "${_plain}")
file(WRITE "${DIR}/crlf-bom.csv" "${_crlf}")
file(WRITE "${DIR}/header.tsv" "${_tsv}")
file(WRITE "${DIR}/u.data" "${_udata}")
file(WRITE "${DIR}/cr-only.csv" "${_cr}")
