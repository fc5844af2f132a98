// The quick start of README.md, compiled and run by the tests so that it cannot rot.
#include <bloom/bloom.hpp>

#include <cstdio>
#include <vector>

int main() {
    bloom::spec_config cfg;
    cfg.items = 1682;  // d: item ids 0..1681 (MovieLens 100K's catalogue)
    cfg.m = 336;       // 5x fewer positions
    cfg.k = 4;         // hash functions per item
    const bloom::encoder enc(bloom::spec(cfg), bloom::lookup::table);
    const bloom::decoder dec(enc.shared_table());

    const std::vector<std::uint32_t> history = {3, 17, 256};
    const std::vector<std::uint32_t> input = enc.encode(history);  // sorted unique positions

    // A network's m output probabilities; here: high on the positions of items 42 and 99.
    bloom::vector<float> output = 0.05f + 0.9f * enc.dense(std::vector<std::uint32_t>{42, 99}).array();
    for (const bloom::scored_item& s : dec.top_n(output, 3, history))  // history excluded
        std::printf("item %llu  log-likelihood %.2f\n", static_cast<unsigned long long>(s.id), s.score);
    return input.empty() ? 1 : 0;
}
