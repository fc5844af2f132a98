// The small models of fuzz_model_file and make_corpus: each kind is built untrained (5 users,
// 7 items, dimension 2, a few hashed rows), saved under the name "model", and loaded back by
// type. Small enough that a saved file stays under 8 KiB.
#pragma once

#include <bloom/data/interactions.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/io/archive.hpp>
#include <bloom/models/embeddings.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/optim/adam.hpp>
#include <bloom/optim/sgd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace bloom_fuzz {

namespace m = bloom::models;
using adam = bloom::optim::adam<float>;
using sgd = bloom::optim::sgd<float>;
using full_t = m::full_embedding<float, adam>;
using bloom_t = m::bloom_embedding<float, adam>;
using hash_t = m::hash_embedding<float, adam>;
using qr_t = m::qr_embedding<float, adam>;
using freq_t = m::freq_bloom_embedding<float, adam>;
using hist_t = m::history_bloom_embedding<float, adam>;
using bloom_freq_model = m::factorization<bloom_t, freq_t, adam>;  // bloom + freq + full biases
using hash_qr_model = m::factorization<hash_t, qr_t, adam>;
using hist_full_model = m::factorization<hist_t, full_t, adam>;
using sgd_bloom_t = m::bloom_embedding<float, sgd>;

inline constexpr std::uint32_t n_users = 5, n_items = 7;

inline m::embedding_options emb(std::uint64_t seed) {
    m::embedding_options o;
    o.dim = 2;
    o.seed = seed;
    return o;
}
inline m::bloom_options spec(std::uint64_t rows, std::uint32_t k) {
    m::bloom_options b;
    b.rows = rows;
    b.k = k;
    b.hash_seed = 3;
    return b;
}
inline adam::config opt() {
    adam::config c;
    c.lr = 0.02;
    return c;
}

inline bloom_freq_model make_bloom_freq() {
    const std::vector<std::uint64_t> counts = {9, 1, 4, 0, 2, 7, 1};
    m::freq_options f;
    f.head_share = 0.4;
    return bloom_freq_model(bloom_t(n_users, spec(4, 2), emb(1), opt(), bloom::murmur3_32{}),
                            freq_t(n_items, counts, spec(5, 2), f, emb(2), opt()), opt());
}
inline hash_qr_model make_hash_qr() {
    return hash_qr_model(hash_t(n_users, spec(4, 2), emb(1), opt()),
                         qr_t(n_items, 3, emb(2), opt()), opt());
}
inline hist_full_model make_hist_full() {
    const std::vector<std::size_t> offsets = {0, 2, 2, 5, 6, 8};
    const std::vector<std::uint32_t> history = {0, 3, 1, 2, 6, 4, 5, 0};
    return hist_full_model(hist_t(n_users, offsets, history, n_items, spec(6, 2), emb(1), opt()),
                           full_t(n_items, emb(2), opt()), opt());
}
inline sgd_bloom_t make_sgd_bloom() {
    sgd::config c;
    c.lr = 0.05;
    c.momentum = 0.9;
    m::bloom_options b = spec(4, 3);
    b.derive = bloom::derivation::double_hashing;
    b.comb = m::combine::mean;
    return sgd_bloom_t(n_items, b, emb(3), c);
}
inline adam make_adam() { return adam(opt(), 3, 2); }
inline bloom::data::id_map make_id_map() {
    bloom::data::id_map ids(bloom::data::id_kind::string);
    for (const char* s : {"u17", "alice", "", "b"}) {
        try {
            ids.intern(std::string(s));
        } catch (const bloom::error&) {
        }
    }
    return ids;
}

// Saves an object that has no restore_tag constructor (an optimizer, an id map) as "model".
template <class T>
void save_object(const std::string& path, const T& obj) {
    bloom::io::file_saver out(path);
    out.object("model", obj);
    out.commit();
}

}  // namespace bloom_fuzz
