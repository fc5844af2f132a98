// Shared by the benchmarks: records the build flags in the benchmark context, so every report
// says how it was compiled.
#pragma once

#include <benchmark/benchmark.h>

#ifndef BLOOM_BENCH_FLAGS
#  define BLOOM_BENCH_FLAGS "unknown"
#endif

namespace bloom_bench {
inline const bool flags_recorded = [] {
    benchmark::AddCustomContext("bloom_build_flags", BLOOM_BENCH_FLAGS);
    return true;
}();
}  // namespace bloom_bench
