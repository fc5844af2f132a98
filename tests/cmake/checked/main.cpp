// Built in Release with bloom's CMake option BLOOM_CHECKED: an out-of-range id given to an
// unchecked hot path (an embedding's forward) stops at BLOOM_ASSERT, NDEBUG notwithstanding,
// instead of reading past the table. The test expects the assertion's message and an abort.
#include <bloom/models/embeddings.hpp>
#include <bloom/optim/sgd.hpp>

#include <cstdint>
#include <cstdio>
#include <vector>

#ifndef NDEBUG
#  error "this consumer is meant to be built with NDEBUG (CMAKE_BUILD_TYPE=Release)"
#endif
#ifndef BLOOM_CHECKED
#  error "the CMake option BLOOM_CHECKED=ON did not reach bloom::bloom's users"
#endif

int main(int argc, char**) {
    using opt = bloom::optim::sgd<float>;
    bloom::models::embedding_options o;
    o.dim = 4;
    const bloom::models::full_embedding<float, opt> table(10, o, opt::config{});
    std::vector<float> out(4);
    // 10 ids: id 10 is one past the end (argc keeps the compiler from folding the call away)
    const auto id = static_cast<std::uint32_t>(9 + argc);
    table.forward(id, out.data());
    std::printf("not stopped: read id %u of 10\n", static_cast<unsigned>(id));
    return 0;
}
