#!/usr/bin/env bash
# Runs every libFuzzer harness built in BUILD_DIR (tests/fuzz/fuzz_*) for SECONDS each, on a
# scratch copy of its seed corpus (tests/fuzz/corpus/<harness>/, which stays as committed).
# Prints one line per harness:
#   fuzz: <name> <execs> execs in <s> s, <crashes> crashes
# and exits non-zero when a harness crashed, keeping the crash file and printing its path.
#
#   tests/fuzz/run_fuzzers.sh build/fuzz 60
set -euo pipefail

if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -eq 0 ]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
build=$1
seconds=$2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$build/tests/fuzz"
[ -d "$bin" ] || bin="$build"  # BUILD_DIR may be the harnesses' own folder

scratch=$(mktemp -d "${TMPDIR:-/tmp}/bloom-fuzz-XXXXXX")
crash_dir="$build/fuzz-crashes"
failed=0
found=0
for harness in "$bin"/fuzz_*; do
    [ -f "$harness" ] && [ -x "$harness" ] || continue
    found=1
    name=$(basename "$harness")
    corpus="$scratch/$name"
    mkdir -p "$corpus" "$crash_dir"
    if [ -d "$here/corpus/$name" ]; then
        cp -R "$here/corpus/$name/." "$corpus/"
    fi
    log="$scratch/$name.log"
    start=$(date +%s)
    set +e
    "$harness" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$crash_dir/$name-" "$corpus" >"$log" 2>&1
    rc=$?
    set -e
    end=$(date +%s)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    crashes=$(grep -cE '^artifact_prefix=.*; Test unit written to' "$log" || true)
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes=1  # it died without writing a unit (a crash in start-up, say)
    fi
    echo "fuzz: $name ${execs:-0} execs in $((end - start)) s, $crashes crashes"
    if [ "$crashes" -ne 0 ]; then
        failed=1
        kept="$crash_dir/$name.log"
        cp "$log" "$kept"
        grep -E 'Test unit written to' "$log" | sed 's/.*Test unit written to /fuzz: crash file: /' || true
        echo "fuzz: log: $kept"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|bloom fuzz:|.*runtime error)' "$log" | head -n 5 || true
    fi
done
rm -rf "$scratch"
if [ "$found" -eq 0 ]; then
    echo "run_fuzzers.sh: no fuzz_* harness in $bin (configure with -DBLOOM_BUILD_FUZZERS=ON)" >&2
    exit 2
fi
exit "$failed"
