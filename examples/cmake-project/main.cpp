// A downstream program: include bloom, map ids to Bloom positions, check the result is stable.
#include <bloom/bloom.hpp>

#include <cstdio>

int main() {
    bloom::spec_config cfg;
    cfg.m = 1000;
    cfg.k = 4;
    const bloom::basic_spec<bloom::xxh3> spec(cfg);
    std::uint32_t a[4], b[4];
    spec.positions(std::uint64_t{42}, a);
    spec.positions(std::uint64_t{42}, b);
    for (int j = 0; j < 4; ++j) {
        if (a[j] != b[j] || a[j] >= 1000) return 1;
        std::printf("%u ", a[j]);
    }
    std::printf("\n");
    return 0;
}
