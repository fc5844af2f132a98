// Loaders at MovieLens-25M scale: the synthetic set of ML-25M's shape
// (synthetic_config::movielens_25m_like: 162,541 users, 59,047 items, 25,000,095 ratings),
// written once as ratings.csv (ML-25M's layout, about 680 MB) to a temporary folder, then loaded
// with load_movielens (format detection included).
//
//   bench_loaders                                   the full 25M size
//   bench_loaders --lines=1000000                   a smaller set (users and items scaled alike)
//   BLOOM_BENCH_LOAD_LINES=1000000 bench_loaders    the same
//   bench_loaders --write-once /tmp/ratings.csv     only write the file (times, peak RSS)
//   bench_loaders --load-once /tmp/ratings.csv      only load it once (for /usr/bin/time -v)
//
// BM_generate: make_synthetic at that size. BM_write: write_movielens of it. BM_load: the load,
// with MB (of the file, 10^6 bytes) and interactions per second of real time, on a file in the
// page cache (written just before: the cost of the loader, not of a disk). Peak memory: one
// load in a fresh process (this program run again with --load-once, so nothing else is in it),
// its ru_maxrss against the bytes of the loaded data's own arrays (users, items, weights,
// timestamps at their size): fresh_load_peak_rss_MB, peak_rss_per_column_byte.
// The file goes to $TMPDIR (else /tmp) and is removed at exit.
#include "bench_common.hpp"

#include <bloom/data/loaders.hpp>
#include <bloom/data/synthetic.hpp>
#include <bloom/data/writers.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace data = bloom::data;

constexpr std::uint64_t full_lines = 25000095;
std::uint64_t lines = full_lines;  // --lines=N or BLOOM_BENCH_LOAD_LINES

// ML-25M's shape at `lines` interactions: users and items scaled by lines / 25,000,095 (at least
// 1000 items, so that every user's 20 or more unique items fit).
data::synthetic_config config() {
    data::synthetic_config c = data::synthetic_config::movielens_25m_like();
    if (lines == full_lines) return c;
    const double f = static_cast<double>(lines) / static_cast<double>(full_lines);
    c.n_interactions = lines;
    c.n_users = static_cast<std::uint32_t>(
        std::max<double>(1.0, std::round(static_cast<double>(c.n_users) * f)));
    c.n_items = static_cast<std::uint32_t>(
        std::max<double>(1000.0, std::round(static_cast<double>(c.n_items) * f)));
    c.min_per_user =
        static_cast<std::uint32_t>(std::min<std::uint64_t>(20, lines / c.n_users));
    return c;
}

std::uint64_t column_bytes(const data::interactions& d) {
    return d.users.size() * sizeof(std::uint32_t) + d.items.size() * sizeof(std::uint32_t) +
           d.weights.size() * sizeof(float) + d.timestamps.size() * sizeof(std::int64_t);
}

double max_rss_mb(const rusage& ru) { return static_cast<double>(ru.ru_maxrss) * 1024.0 / 1e6; }

// The temporary folder, removed with everything in it when the program ends.
struct temp_folder {
    std::string path;
    temp_folder()
        : path((std::filesystem::temp_directory_path() /
                ("bloom-bench-loaders-" + std::to_string(::getpid())))
                   .string()) {
        std::filesystem::create_directories(path);
    }
    temp_folder(const temp_folder&) = delete;
    temp_folder& operator=(const temp_folder&) = delete;
    ~temp_folder() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

const std::string& folder() {
    static const temp_folder dir;
    return dir.path;
}

const std::string& csv_path() {
    static const std::string p = folder() + "/ratings.csv";
    return p;
}

void write_file() {
    const data::interactions d = data::make_synthetic(config());
    data::write_movielens(csv_path(), d);
}

void ensure_file() {
    static const bool done = [] {
        if (!std::filesystem::exists(csv_path())) write_file();
        return true;
    }();
    (void)done;
}

void BM_generate(benchmark::State& state) {
    const data::synthetic_config c = config();
    std::uint64_t bytes = 0;
    for (auto _ : state) {
        const data::interactions d = data::make_synthetic(c);
        bytes = column_bytes(d);
        benchmark::DoNotOptimize(d.items.data());
    }
    state.counters["interactions"] = benchmark::Counter(
        static_cast<double>(c.n_interactions), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["users"] = c.n_users;
    state.counters["items"] = c.n_items;
    state.counters["columns_MB"] = static_cast<double>(bytes) / 1e6;
}

void BM_write(benchmark::State& state) {
    const data::interactions d = data::make_synthetic(config());
    std::size_t bytes = 0;
    for (auto _ : state) bytes = data::write_movielens(csv_path(), d);
    state.counters["MB"] = benchmark::Counter(static_cast<double>(bytes) / 1e6,
                                              benchmark::Counter::kIsIterationInvariantRate);
    state.counters["file_MB"] = static_cast<double>(bytes) / 1e6;
}

// One load in a fresh process: its peak RSS, and the bytes of the loaded arrays.
struct load_memory {
    double peak_rss_mb = 0;
    double columns_mb = 0;
};

load_memory measure_in_fresh_process() {
    int fds[2];
    if (::pipe(fds) != 0) return {};
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], STDOUT_FILENO);
        ::close(fds[0]);
        ::execl("/proc/self/exe", "bench_loaders", "--load-once", csv_path().c_str(),
                static_cast<char*>(nullptr));
        std::_Exit(127);
    }
    ::close(fds[1]);
    char buf[256] = {};
    std::size_t got = 0;
    while (got + 1 < sizeof buf) {
        const ssize_t n = ::read(fds[0], buf + got, sizeof buf - 1 - got);
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(fds[0]);
    int status = 0;
    rusage ru{};
    if (pid < 0 || ::wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        return {};
    }
    load_memory m;
    m.peak_rss_mb = max_rss_mb(ru);
    m.columns_mb = std::strtod(buf, nullptr) / 1e6;
    return m;
}

void BM_load(benchmark::State& state) {
    ensure_file();
    std::size_t bytes = 0, loaded = 0;
    std::uint64_t columns = 0;
    for (auto _ : state) {
        data::load_result r = data::load_movielens(csv_path());
        bytes = r.report.bytes;
        loaded = r.report.loaded;
        columns = column_bytes(r.data);
        benchmark::DoNotOptimize(r.data.users.data());
    }
    // Rates per second of real time, in MB of 10^6 bytes (bytes_per_second is in MiB).
    state.counters["MB"] = benchmark::Counter(static_cast<double>(bytes) / 1e6,
                                              benchmark::Counter::kIsIterationInvariantRate);
    state.counters["interactions"] = benchmark::Counter(
        static_cast<double>(loaded), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["file_MB"] = static_cast<double>(bytes) / 1e6;
    state.counters["columns_MB"] = static_cast<double>(columns) / 1e6;
    static const load_memory mem = measure_in_fresh_process();
    state.counters["fresh_load_peak_rss_MB"] = mem.peak_rss_mb;
    state.counters["peak_rss_per_column_byte"] =
        mem.columns_mb > 0 ? mem.peak_rss_mb / mem.columns_mb : 0.0;
}

BENCHMARK(BM_generate)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_write)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_load)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

// --load-once PATH: load, print the loaded arrays' bytes, exit (the fresh process above).
int load_once(const char* path) {
    const data::load_result r = data::load_movielens(path);
    std::printf("%llu\n", static_cast<unsigned long long>(column_bytes(r.data)));
    return 0;
}

// --write-once PATH: generate the set, write it to PATH, say how long each took and the peak RSS
// after generating (a file to time loads on by hand, and the generator's cost in a fresh process).
int write_once(const char* path) {
    using clock = std::chrono::steady_clock;
    auto cpu_seconds = [] {
        rusage ru{};
        ::getrusage(RUSAGE_SELF, &ru);
        return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    };
    auto seconds = [](clock::time_point a, clock::time_point b) {
        return std::chrono::duration<double>(b - a).count();
    };
    const data::synthetic_config c = config();
    const auto t0 = clock::now();
    const double c0 = cpu_seconds();
    const data::interactions d = data::make_synthetic(c);
    const auto t1 = clock::now();
    const double c1 = cpu_seconds();
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    const std::size_t bytes = data::write_movielens(path, d);
    const auto t2 = clock::now();
    const double c2 = cpu_seconds();
    std::printf("generated %llu interactions (%u users, %u items) in %.2f s (CPU %.2f s), peak "
                "RSS %.1f MB, columns %.1f MB; wrote %zu bytes to %s in %.2f s (CPU %.2f s)\n",
                static_cast<unsigned long long>(d.size()), d.n_users, d.n_items,
                seconds(t0, t1), c1 - c0, max_rss_mb(ru),
                static_cast<double>(column_bytes(d)) / 1e6, bytes, path, seconds(t1, t2),
                c2 - c1);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (const char* env = std::getenv("BLOOM_BENCH_LOAD_LINES")) {
        lines = std::strtoull(env, nullptr, 10);
    }
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--lines=", 8) == 0) {
            lines = std::strtoull(argv[i] + 8, nullptr, 10);
        } else {
            argv[kept++] = argv[i];
        }
    }
    argc = kept;
    if (lines == 0) {
        std::fprintf(stderr, "bench_loaders: --lines, BLOOM_BENCH_LOAD_LINES: a positive count\n");
        return 1;
    }
    if (argc == 3 && std::strcmp(argv[1], "--load-once") == 0) return load_once(argv[2]);
    if (argc == 3 && std::strcmp(argv[1], "--write-once") == 0) return write_once(argv[2]);
    benchmark::AddCustomContext("bloom_load_lines", std::to_string(lines));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
