# Run by ctest: absurd options and malformed files given to bloom-compare, bloom-paper and the
# bloom tool. Each must end with exit code 1 (bad data, a failure while working) or 2 (a bad
# option), never a signal, and print a message that names what is wrong. docs/errors.md lists
# these cases; the sanitizer build runs this same script under ASan and UBSan.
#   cmake -DCOMPARE=<bloom-compare> -DPAPER=<bloom-paper> -DBLOOM=<bloom> -DWORK=<scratch folder>
#         -P check_bad_inputs.cmake
# Under AddressSanitizer an allocation too large for memory must come back to the program as
# std::bad_alloc (as without ASan), not end the process with ASan's own report.
set(ENV{ASAN_OPTIONS} "allocator_may_return_null=1:$ENV{ASAN_OPTIONS}")
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

# Small valid data (u.data layout), and the malformed files.
set(_good "")
foreach(u RANGE 1 40)
    foreach(t RANGE 0 9)
        math(EXPR _i "(${u} * 7 + ${t} * 3) % 60 + 1")
        string(APPEND _good "${u}\t${_i}\t4\t${t}\n")
    endforeach()
endforeach()
file(WRITE "${WORK}/good.data" "${_good}")
file(WRITE "${WORK}/empty.data" "")
file(WRITE "${WORK}/one.data" "1\t2\t5\t0\n")
file(WRITE "${WORK}/huge-id.data" "1\t2\t5\t0\n3\t99999999999999999999999\t4\t1\n")
file(WRITE "${WORK}/id-above-32-bits.data" "1\t2\t5\t0\n4294967296\t7\t4\t1\n")
file(WRITE "${WORK}/negative.data" "1\t2\t5\t0\n-3\t7\t4\t1\n")
file(WRITE "${WORK}/nan-rating.data" "1\t2\t5\t0\n3\t7\tnan\t1\n")
file(WRITE "${WORK}/inf-rating.data" "1\t2\t5\t0\n3\t7\tinf\t1\n")
file(WRITE "${WORK}/short-line.data" "1\t2\t5\t0\n3\t7\n")
# bytes that are not text at all: NULs and high bytes (CMake strings cannot hold a NUL)
execute_process(COMMAND printf "\\000\\001\\310\\377\\n\\000\\t\\377\\n"
                OUTPUT_FILE "${WORK}/binary.data")
file(WRITE "${WORK}/not-a-model.bin" "BLOOMMDL but not really a model file\n")

# run(<tool> <expected exit code> <regex of stderr> args...): every case runs; the failures are
# listed together at the end.
set(_n 0)
set(_failures "")
function(run tool code re)
    execute_process(COMMAND "${tool}" ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out
                    ERROR_VARIABLE _err WORKING_DIRECTORY "${WORK}" TIMEOUT 120)
    get_filename_component(_name "${tool}" NAME)
    string(REPLACE ";" " " _args "${ARGN}")
    set(_why "")
    if(NOT _rc STREQUAL "${code}")
        set(_why "exit '${_rc}', expected ${code}")
    elseif(NOT "${_err}" MATCHES "${re}")
        set(_why "stderr does not match '${re}'")
    endif()
    if(_why)
        string(APPEND _failures "\n${_name} ${_args}: ${_why}\nstdout:\n${_out}\nstderr:\n${_err}\n")
        set(_failures "${_failures}" PARENT_SCOPE)
    endif()
    math(EXPR _c "${_n} + 1")
    set(_n ${_c} PARENT_SCOPE)
endfunction()

set(_small --synthetic-users 60 --synthetic-items 80 --synthetic-interactions 1200 --quiet)

# --- bloom-compare -----------------------------------------------------------------------------
run("${COMPARE}" 1 "bloom-compare: out of memory" ${_small} --methods full --dim 1000000000)
run("${COMPARE}" 2 "--ratios takes rows / ids in \\(0, 1\\], got -1" ${_small} --ratios=-1)
run("${COMPARE}" 1 "the loss is not finite at epoch 1, batch [0-9]+ \\(of [0-9]+\\): training diverged; lower the learning rate"
    ${_small} --methods full --lr 1e30)
run("${COMPARE}" 1 "one.data \\(movielens-100k\\): 1 interaction\\(s\\), and --test-share 0.2 puts every one in the test split: nothing is left to train on"
    --data one.data --methods full --quiet)
run("${COMPARE}" 1 "empty.data:1: empty file" --data empty.data --quiet)
run("${COMPARE}" 2 "--data: File does not exist: nofile.data" --data nofile.data --quiet)
run("${COMPARE}" 1 "huge-id.data:2: field 2 \\(item\\): expected an unsigned integer id" --data huge-id.data --quiet)
run("${COMPARE}" 1 "negative.data:2: field 1 \\(user\\): expected an unsigned integer id, got '-3'"
    --data negative.data --quiet)
run("${COMPARE}" 1 "nan-rating.data:2: field 3 \\(rating\\): expected a finite number, got 'nan'"
    --data nan-rating.data --quiet)
run("${COMPARE}" 1 "inf-rating.data:2: field 3 \\(rating\\): expected a finite number, got 'inf'"
    --data inf-rating.data --quiet)
run("${COMPARE}" 1 "short-line.data:2: expected 4 fields" --data short-line.data --quiet)
run("${COMPARE}" 1 "binary.data:1" --data binary.data --quiet)
run("${COMPARE}" 1 "nonexistent-folder/r" ${_small} --methods full --epochs 1 --out /nonexistent-folder/r)
run("${COMPARE}" 2 "--dim: Value 0 not in range" ${_small} --dim 0)
run("${COMPARE}" 2 "--batch" ${_small} --batch 0)
run("${COMPARE}" 2 "--lr takes a finite learning rate >= 0, got nan" ${_small} --lr nan)
run("${COMPARE}" 2 "freq-bloom keeps 2 of the 4 rows that --ratios 0.05 gives the items table for its head \\(--head-share 0.5\\), which leaves fewer than --k 4 shared rows"
    ${_small} --methods freq-bloom --ratios 0.05 --k 4 --compress items)
run("${COMPARE}" 2 "--epochs" ${_small} --epochs=-1)

# --- bloom-paper ---------------------------------------------------------------------------------
run("${PAPER}" 2 "--ratios takes m/d values in \\(0, 1\\], got nan" ${_small} --ratios nan)
run("${PAPER}" 2 "--k takes hash counts >= 1, got 0" ${_small} --k 0)
run("${PAPER}" 2 "--lr must be finite and > 0" ${_small} --lr inf)
run("${PAPER}" 1 "bloom_mlp::fit: the loss is not finite at epoch [0-9]+, batch [0-9]+ \\(of [0-9]+\\): training diverged"
    ${_small} --methods bloom --lr 1e30)
run("${PAPER}" 1 "huge-id.data:2" --data huge-id.data --quiet)

# --- the bloom tool ------------------------------------------------------------------------------
run("${BLOOM}" 1 "empty.data:1: empty file" train --data empty.data --model m.bin --quiet)
run("${BLOOM}" 2 "bloom train: one.data \\(movielens-100k\\): --ratio 0.2 gives the users table 0 rows \\(1 ids\\), and bloom-history with --history-k 1 needs at least 1; give more data, raise --ratio or lower --history-k"
    train --data one.data --model m.bin --quiet --epochs 1)
run("${BLOOM}" 1 "negative.data:2" train --data negative.data --model m.bin --quiet)
run("${BLOOM}" 1 "binary.data:1" train --data binary.data --model m.bin --quiet)
run("${BLOOM}" 1 "factorization::fit: the loss is not finite at epoch 1, batch [0-9]+ \\(of [0-9]+\\): training diverged"
    train --data good.data --model d.bin --lr 1e30 --quiet)
run("${BLOOM}" 0 "" train --data good.data --model m.bin --epochs 2 --quiet)
run("${BLOOM}" 1 "not-a-model.bin" info --model not-a-model.bin)
run("${BLOOM}" 1 "good.data" recommend --model good.data --user 1)
run("${BLOOM}" 1 "99999999999999999999" recommend --model m.bin --user 99999999999999999999)
run("${BLOOM}" 1 "nonexistent-folder/m.bin" train --data good.data --model /nonexistent-folder/m.bin --epochs 1 --quiet)
run("${BLOOM}" 2 "--dim" train --data good.data --model x.bin --dim 0)
run("${BLOOM}" 2 "--ratio" train --data good.data --model x.bin --ratio nan)
run("${BLOOM}" 2 "--k" train --data good.data --model x.bin --k 0)
run("${BLOOM}" 1 "out of memory" train --data good.data --model x.bin --users full --items full --dim 1000000000 --quiet)

if(_failures)
    message(FATAL_ERROR "${_failures}")
endif()
message(STATUS "${_n} bad inputs: each refused with its message and exit code, none ended in a signal")
