#!/usr/bin/env bash
# bloom's two commands for a new user on Debian:
#   ./run.sh demo   build (Release) and run the main example on the built-in synthetic data
#   ./run.sh test   build everything with warnings as errors and run the whole test suite (with
#                   MPI: the data-parallel tests under mpirun -np 2), then
#                   build it again with Clang under AddressSanitizer and UndefinedBehaviorSanitizer
#                   and run it there, the threads tests under ThreadSanitizer, then run each fuzz
#                   harness for a bounded time
# Also: ./run.sh paper [options]  build (Release) and run bloom-paper, the paper's network experiment
#       ./run.sh bloom ARGS...      build (Release) and run the bloom tool (train, eval, recommend...)
#       ./run.sh bench [filter]   build (Release) and run the Google Benchmark suites.
#       ./run.sh fuzz [seconds]   build the libFuzzer harnesses (clang, sanitizers) and run each
#                                 for `seconds` (default 60); non-zero exit on a crash.
#       ./run.sh soak [seconds]   build bloom-soak under ASan/UBSan and run it (default 60 s):
#                                 train, save, load, recommend in a loop; the live heap must not grow
# Each installs the Debian packages it needs (apt-get as root, sudo when available; otherwise it
# prints the apt-get line and stops), then configures, builds and runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PACKAGES=(cmake g++ make pkg-config libeigen3-dev libxxhash-dev libmurmurhash-dev catch2
          libbenchmark-dev libcli11-dev nlohmann-json3-dev libfarmhash-dev libmetrohash-dev libssl-dev
          zip unzip curl)
# What the sanitizer build and the fuzzers need on top (Clang and its sanitizer runtimes).
SANITIZER_PACKAGES=(clang libclang-rt-14-dev)
# What the test suite's MPI build needs on top (bloom::mpi, tests/mpi under mpirun, bloom-mpi-train).
MPI_PACKAGES=(libopenmpi-dev openmpi-bin)
JOBS=$(nproc 2>/dev/null || echo 2)

install_packages() {  # [extra packages...]
    local missing=()
    for p in "${PACKAGES[@]}" "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "run.sh: installing missing Debian packages: ${missing[*]}" >&2
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
    if [ "$(id -u)" -eq 0 ]; then
        "${apt[@]}" update -qq && "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "${apt[@]}" update -qq && sudo "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"
    else
        echo "run.sh: these packages are missing and I am neither root nor able to sudo. Run:" >&2
        echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
}

configure_build() {  # dir build-type extra-cmake-args...
    local dir=$1 type=$2
    shift 2
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
    cmake --build "$dir" -j "$JOBS"
}

# The sanitizer build's settings: Clang, -O0 with line tables (it compiles in half the time of
# -O1, which is what CI's budget needs), every report fatal.
SANITIZE_ARGS=(-DCMAKE_CXX_COMPILER=clang++ "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1" -DBLOOM_SANITIZE=ON)
# Under -O0 and the sanitizers the two accuracy tests on the real ML-100K file take 6 and 8
# minutes: they run in the GCC build; their code paths run under the sanitizers on synthetic data.
SANITIZE_SKIP='^(models:on MovieLens 100K, users as Bloom|network:ML-100K: the uncompressed network)'

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

elapsed() { echo $(( $(date +%s) - $1 )); }

cmd=${1:-}
case "$cmd" in
    demo)
        shift
        install_packages
        configure_build build/release Release -DBLOOM_BUILD_TESTS=OFF -DBLOOM_BUILD_BENCHMARKS=OFF
        if [ -x build/release/examples/bloom-compare ]; then
            exec build/release/examples/bloom-compare "$@"
        else
            exec build/release/examples/bloom-quickstart "$@"
        fi
        ;;
    paper)
        shift
        install_packages
        configure_build build/release Release -DBLOOM_BUILD_TESTS=OFF -DBLOOM_BUILD_BENCHMARKS=OFF
        exec build/release/examples/bloom-paper "$@"
        ;;
    bloom)
        shift
        install_packages
        configure_build build/release Release -DBLOOM_BUILD_TESTS=OFF -DBLOOM_BUILD_BENCHMARKS=OFF >&2
        exec build/release/examples/bloom "$@"
        ;;
    test)
        install_packages "${SANITIZER_PACKAGES[@]}" "${MPI_PACKAGES[@]}"
        t0=$(date +%s)
        # 1. The suite as users build it: GCC, warnings as errors, tests, examples, benchmarks.
        #    Release (the tests keep their asserts on) and portable examples: the quickest build
        #    of everything; ./run.sh demo and bench build their own native Release binaries.
        #    With MPI: tests/mpi and bloom-mpi-train run under mpirun with 2 ranks.
        configure_build build/test Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
            -DBLOOM_WERROR=ON -DBLOOM_EXAMPLES_NATIVE=OFF -DBLOOM_MPI=ON \
            -DBLOOM_BUILD_TESTS=ON -DBLOOM_BUILD_EXAMPLES=ON -DBLOOM_BUILD_BENCHMARKS=ON
        (cd build/test && ctest --output-on-failure -j "$JOBS")
        echo "run.sh test: the suite passed ($(elapsed "$t0") s so far)"
        # 2. The same tests under ASan and UBSan (float-cast-overflow included). The examples'
        #    checks ran in step 1 (each bad input must end in a message, not a signal); built
        #    under the sanitizers they would add minutes that CI does not have (bloom_tool.cpp
        #    alone takes 5 or more), so BLOOM_SANITIZE_EXAMPLES=1 adds them when there is time.
        configure_build build/sanitize Debug "${SANITIZE_ARGS[@]}" -DBLOOM_WERROR=ON \
            -DBLOOM_EXAMPLES_NATIVE=OFF -DBLOOM_BUILD_TESTS=ON -DBLOOM_BUILD_BENCHMARKS=OFF \
            -DBLOOM_BUILD_EXAMPLES="$([ "${BLOOM_SANITIZE_EXAMPLES:-0}" = 1 ] && echo ON || echo OFF)"
        (cd build/sanitize && ctest --output-on-failure -j "$JOBS" -E "$SANITIZE_SKIP")
        echo "run.sh test: the suite passed under ASan and UBSan ($(elapsed "$t0") s so far)"
        # 3. The concurrent training paths (Hogwild workers) under ThreadSanitizer: every race
        #    fails, except the one on shared weights that tests/threads/tsan.supp names.
        cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
            "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g" -DBLOOM_TSAN=ON -DBLOOM_WERROR=ON \
            -DBLOOM_BUILD_TESTS=ON -DBLOOM_BUILD_EXAMPLES=OFF -DBLOOM_BUILD_BENCHMARKS=OFF >/dev/null
        cmake --build build/tsan -j "$JOBS" --target test_threads
        (cd build/tsan && ctest --output-on-failure --no-tests=error -j "$JOBS" -R '^threads:')
        echo "run.sh test: the threads tests passed under ThreadSanitizer ($(elapsed "$t0") s so far)"
        # 4. Every fuzz harness for a bounded time, from its seed corpus.
        configure_build build/fuzz Debug -DCMAKE_CXX_COMPILER=clang++ -DBLOOM_BUILD_FUZZERS=ON \
            -DBLOOM_BUILD_TESTS=OFF -DBLOOM_BUILD_EXAMPLES=OFF -DBLOOM_BUILD_BENCHMARKS=OFF
        tests/fuzz/run_fuzzers.sh build/fuzz "${BLOOM_FUZZ_SECONDS:-20}"
        echo "run.sh test: passed in $(elapsed "$t0") s"
        ;;
    soak)
        shift
        install_packages "${SANITIZER_PACKAGES[@]}"
        cmake -S . -B build/soak -DCMAKE_BUILD_TYPE=Debug "${SANITIZE_ARGS[@]}" \
            -DBLOOM_BUILD_TESTS=OFF -DBLOOM_BUILD_EXAMPLES=OFF -DBLOOM_BUILD_BENCHMARKS=ON >/dev/null
        cmake --build build/soak -j "$JOBS" --target bloom-soak
        exec build/soak/bench/bloom-soak --seconds "${1:-60}"
        ;;
    bench)
        shift
        install_packages
        configure_build build/release Release -DBLOOM_BUILD_TESTS=OFF -DBLOOM_BUILD_BENCHMARKS=ON
        for b in build/release/bench/bench_*; do
            [ -x "$b" ] || continue
            echo "== $b"
            "$b" ${1:+--benchmark_filter="$1"}
        done
        ;;
    fuzz)
        shift
        seconds=${1:-60}
        install_packages "${SANITIZER_PACKAGES[@]}"  # libFuzzer and the sanitizer runtimes
        configure_build build/fuzz Debug -DCMAKE_CXX_COMPILER=clang++ -DBLOOM_BUILD_FUZZERS=ON \
            -DBLOOM_BUILD_TESTS=OFF -DBLOOM_BUILD_EXAMPLES=OFF -DBLOOM_BUILD_BENCHMARKS=OFF
        exec tests/fuzz/run_fuzzers.sh build/fuzz "$seconds"
        ;;
    *)
        echo "usage: ./run.sh demo [example options] | ./run.sh test | ./run.sh paper [options] | ./run.sh bloom ARGS | ./run.sh bench [filter] | ./run.sh fuzz [seconds] | ./run.sh soak [seconds]" >&2
        exit 2
        ;;
esac
