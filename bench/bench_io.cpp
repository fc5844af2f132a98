// Model files: writing, opening (map and verify every checksum) and loading a model whose
// weights are 1 GiB (a full user table of 4,194,304 x 64 floats and a small item table), saved
// without optimizer state. Built once, in the system's temporary folder; the page cache is warm
// after the first iteration, so these are the costs of the format, not of the disk.
//   ./run.sh bench BM_model
#include "bench_common.hpp"

#include <bloom/io/archive.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/optim/adam.hpp>

#include <cstdio>
#include <string>

#include <unistd.h>

namespace {

using adam = bloom::optim::adam<float>;
using kind = bloom::models::full_embedding<float, adam>;
using model = bloom::models::factorization<kind, kind, adam>;

constexpr std::uint32_t users = 4194304, items = 1000, dim = 64;

model& sample() {
    static model m = [] {
        bloom::models::embedding_options o;
        o.dim = dim;
        return model(kind(users, o, {}), kind(items, o, {}), {});
    }();
    return m;
}

const std::string& path() {
    static const std::string p = "/tmp/bloom-bench-io-" + std::to_string(::getpid()) + ".bin";
    return p;
}

bloom::io::save_options no_state() {
    bloom::io::save_options o;
    o.optimizer_state = false;
    return o;
}

void ensure_file() {
    static const bool done = [] {
        bloom::io::save(path(), sample(), no_state());
        return std::atexit([] { std::remove(path().c_str()); }) == 0;
    }();
    (void)done;
}

void BM_model_save_1GiB(benchmark::State& state) {
    model& m = sample();
    for (auto _ : state) bloom::io::save(path(), m, no_state());
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(m.parameters() * sizeof(float)));
}

void BM_model_open_verify_1GiB(benchmark::State& state) {
    ensure_file();
    std::uint64_t bytes = 0;
    for (auto _ : state) {
        bloom::io::model_reader r(path());
        bytes = r.file_bytes();
        benchmark::DoNotOptimize(r.sections().data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

void BM_model_load_1GiB(benchmark::State& state) {
    ensure_file();
    for (auto _ : state) {
        model back = bloom::io::load<model>(path());
        benchmark::DoNotOptimize(back.n_users());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(sample().parameters() * sizeof(float)));
}

}  // namespace

BENCHMARK(BM_model_save_1GiB)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_model_open_verify_1GiB)->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK(BM_model_load_1GiB)->Unit(benchmark::kMillisecond)->Iterations(5);

BENCHMARK_MAIN();
