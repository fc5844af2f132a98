// Spotlight-style factorization: score(u, i) = user(u) . item(i) + user_bias(u) + item_bias(i),
// or, with interaction::gmf, He et al.'s Generalized Matrix Factorization (NCF, WWW 2017):
// score(u, i) = h . (user(u) * item(i)) + user_bias(u) + item_bias(i), with h a learned vector of
// dim output weights and * the element-wise product.
//
// The user and item embeddings are embedding kinds (models/embeddings.hpp): full tables, Bloom
// embeddings, hash embeddings... The biases are full tables, as in Spotlight, except for the keyed
// kinds (keyed.hpp: raw 64-bit keys), whose biases are hashed. Gradients are hand-written (no
// tape: this is the hot loop), accumulated per minibatch into row gradients and applied by
// row-sparse optimizers to the rows the batch touched, nothing else.
//
// Implicit feedback: uniform negative sampling with the BPR, pointwise, hinge or adaptive-hinge
// losses of Spotlight, or NCF's log loss (bce) on each positive and n_negatives sampled negatives.
// Explicit feedback: squared error on ratings.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/models/embeddings.hpp>
#include <bloom/models/kernels.hpp>
#include <bloom/models/random.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace models {

enum class loss : std::uint8_t {
    bpr,             // 1 - sigmoid(pos - neg)            (Spotlight's bpr_loss)
    bpr_log,         // -log sigmoid(pos - neg)           (the original BPR objective)
    pointwise,       // (1 - sigmoid(pos)) + sigmoid(neg) (Spotlight's pointwise_loss)
    hinge,           // max(0, 1 - (pos - neg))
    adaptive_hinge,  // hinge against the highest-scoring of n_negatives sampled negatives
    regression,      // (score - rating)^2, explicit feedback
    // -log sigmoid(pos) - sum over n_negatives sampled negatives of log(1 - sigmoid(neg)): binary
    // cross-entropy with label 1 on the positive and 0 on each negative (NCF's log loss)
    bce,
};
// (Model files and training states store a loss as its number: new losses go at the end.)

inline const char* to_string(loss l) noexcept {
    switch (l) {
        case loss::bpr: return "bpr";
        case loss::bpr_log: return "bpr-log";
        case loss::pointwise: return "pointwise";
        case loss::hinge: return "hinge";
        case loss::adaptive_hinge: return "adaptive-hinge";
        case loss::regression: return "regression";
        case loss::bce: return "bce";
    }
    return "?";
}

// How a user's and an item's embeddings make a score (before the two biases).
enum class interaction : std::uint8_t {
    dot,  // p_u . q_i: matrix factorization (Spotlight's model)
    gmf,  // h . (p_u * q_i): Generalized Matrix Factorization (He et al., NCF), h learned
};

inline const char* to_string(interaction x) noexcept {
    switch (x) {
        case interaction::dot: return "dot";
        case interaction::gmf: return "gmf";
    }
    return "?";
}

// Where training stopped, so that a later fit() continues it exactly: the model saved with this
// state (io/archive.hpp), loaded, and trained for more epochs is the model trained for all the
// epochs at once, bit for bit (one thread). fit() fills it when fit_options::state points at one;
// a state with epochs done makes fit() resume: it checks that the data (a checksum of the
// interactions in their order) and the settings are those of the first run, replays the earlier
// epochs' shuffles and continues the random stream.
struct training_state {
    std::uint32_t epochs_done = 0;
    std::uint64_t seed = 0;
    std::uint32_t batch = 0;
    loss objective = loss::bpr;
    std::uint32_t n_negatives = 0;
    std::uint64_t examples = 0;
    std::uint64_t data_checksum = 0;
    interaction interaction_kind = interaction::dot;  // the model's, checked on resuming
    std::vector<std::string> epoch_rng;  // the engine's state at the start of each epoch done
    std::string rng;                     // and after the last one

    template <class A>
    void archive(A& a) {
        a.value("epochs_done", epochs_done);
        a.value("seed", seed);
        a.value("batch", batch);
        a.value("objective", objective);
        a.value("n_negatives", n_negatives);
        a.value("examples", examples);
        a.value("data_checksum", data_checksum);
        // Written for gmf only, so that a dot model's state is the file it was before gmf existed
        // (and such a file, without the key, loads as dot).
        if constexpr (A::loading) {
            interaction_kind = interaction::dot;
            if (a.has("interaction")) a.value("interaction", interaction_kind);
        } else if (interaction_kind != interaction::dot) {
            a.value("interaction", interaction_kind);
        }
        std::vector<char> text;
        if constexpr (!A::loading) {
            for (const std::string& e : epoch_rng) {
                text.insert(text.end(), e.begin(), e.end());
                text.push_back('\n');
            }
            text.insert(text.end(), rng.begin(), rng.end());
        }
        a.array("rng_states", text);
        if constexpr (A::loading) {
            epoch_rng.clear();
            std::string cur;
            for (const char c : text) {
                if (c == '\n') {
                    epoch_rng.push_back(std::move(cur));
                    cur.clear();
                } else {
                    cur.push_back(c);
                }
            }
            rng = std::move(cur);
            a.check(epoch_rng.size() == epochs_done, "the training state has " +
                                                          std::to_string(epoch_rng.size()) +
                                                          " epoch states for " +
                                                          std::to_string(epochs_done) + " epochs");
            a.check(objective <= loss::bce, "unknown loss");
            a.check(interaction_kind <= interaction::gmf, "unknown interaction");
        }
    }
};

// Data-parallel training over several replicas of the model (processes or machines), e.g.
// bloom::dist::mpi_replicas (<bloom/dist/mpi.hpp>). Every replica calls fit() with all the
// interactions and the same options; each shuffles them alike, and each batch of
// batch * ranks() examples is cut into ranks() contiguous slices, slice r being replica r's
// share (examples [nb * r / R, nb * (r + 1) / R) of a batch of nb). The engine draws every
// slice's negatives on every replica, in order, so that a replica's negatives are those one
// process with batch * ranks() would draw. After a replica's slice has accumulated its row
// gradients, and before the optimizer step, exchange() must make every replica's accumulators
// the same: the gradient of the whole batch (see <bloom/dist/mpi.hpp> for what it promises).
class data_parallel {
public:
    virtual ~data_parallel() = default;
    virtual std::uint32_t rank() const = 0;   // this replica, 0 .. ranks() - 1
    virtual std::uint32_t ranks() const = 0;  // replicas, >= 1
    // One batch: this replica ran `local` of the batch's `total` examples, with loss sum
    // `loss`; `finite` is false when that loss or one of its scores was not finite (then it
    // accumulated no gradient). Returns false when some replica's batch was not finite, after
    // clearing every accumulator; else sets loss to the batch's loss summed over the replicas
    // (the same value on each).
    virtual bool exchange(std::size_t local, std::size_t total, double& loss, bool finite) = 0;
};

struct fit_options {
    std::uint32_t epochs = 10;
    std::uint32_t batch = 256;
    loss objective = loss::bpr;
    std::uint32_t n_negatives = 5;  // sampled negatives per positive: adaptive hinge and bce
    std::uint64_t seed = 42;        // shuffling and negative sampling
    // Training threads: 1 (the default) is deterministic, bit for bit, for a seed; more run
    // Hogwild workers over shares of each epoch (see concurrent_epoch: not reproducible from run
    // to run); 0 means every core (std::thread::hardware_concurrency()).
    std::uint32_t threads = 1;
    // Called after each epoch with (epoch index, seconds, mean loss); may be empty. The index
    // counts the epochs of a resumed state too.
    std::function<void(std::uint32_t, double, double)> on_epoch = {};
    // Filled as training goes (after each epoch, before on_epoch); resumed from when it has
    // epochs done (see training_state). May be null.
    training_state* state = nullptr;
    // Data-parallel training: this process is one replica of several (see data_parallel);
    // null for one process. Needs threads = 1.
    data_parallel* parallel = nullptr;
};

struct fit_report {
    std::vector<double> epoch_seconds;
    std::vector<double> epoch_loss;
    double total_seconds = 0;
    double seconds_per_epoch() const noexcept {
        return epoch_seconds.empty() ? 0.0 : total_seconds / static_cast<double>(epoch_seconds.size());
    }
};

namespace detail {

// Keyed kinds (keyed.hpp) declare an id_type (64-bit keys) and have no id count; every other kind
// takes dense std::uint32_t ids below ids().
template <class Kind, class = void>
struct is_keyed : std::false_type {};
template <class Kind>
struct is_keyed<Kind, std::void_t<typename Kind::id_type>> : std::true_type {};
template <class Kind>
inline constexpr bool is_keyed_v = is_keyed<Kind>::value;

template <class Kind, bool = is_keyed_v<Kind>>
struct kind_id {
    using type = std::uint32_t;
};
template <class Kind>
struct kind_id<Kind, true> {
    using type = typename Kind::id_type;
};

// The bias table of a kind's ids: a full table (one entry per id), or the keyed kind's own hashed
// biases (Kind::bias_kind), which have no entry per key.
template <class Kind, class Scalar, class BiasOpt, bool = is_keyed_v<Kind>>
struct kind_bias {
    using type = full_embedding<Scalar, BiasOpt>;
};
template <class Kind, class Scalar, class BiasOpt>
struct kind_bias<Kind, Scalar, BiasOpt, true> {
    using type = typename Kind::template bias_kind<BiasOpt>;
};

// Whether a kind offers visit_grads(f) with f(row_grads<Scalar>&): the data-parallel exchange.
template <class Kind, class Scalar, class = void>
struct has_visit_grads : std::false_type {};
template <class Kind, class Scalar>
struct has_visit_grads<Kind, Scalar,
                       std::void_t<decltype(std::declval<Kind&>().visit_grads(
                           std::declval<void (*)(row_grads<Scalar>&)>()))>> : std::true_type {};
template <class Kind, class Scalar>
inline constexpr bool has_visit_grads_v = has_visit_grads<Kind, Scalar>::value;

}  // namespace detail

// UserKind and ItemKind are embedding kinds. A keyed kind (keyed.hpp) makes that side's ids raw
// 64-bit keys (user_id / item_id), with hashed biases and no state per key; the members that
// need an id count (n_users, n_items, prepare_scoring, score_user, recommend, model files) are
// then not available for it, and score() ranks a given list of keys instead.
template <class UserKind, class ItemKind, class BiasOpt>
class factorization {
public:
    using scalar_type = typename UserKind::scalar_type;
    using Scalar = scalar_type;
    using user_id = typename detail::kind_id<UserKind>::type;
    using item_id = typename detail::kind_id<ItemKind>::type;
    static_assert(std::is_same_v<Scalar, typename ItemKind::scalar_type>,
                  "bloom::models::factorization: user and item embeddings must share a scalar type");

    // With interaction::gmf the output weights h are a table of one row of dim values, trained
    // by the bias optimizer (its settings, weight decay included) and initialised to ones: the
    // untrained gmf model scores as the dot model does, and h departs from the plain dot product
    // only as far as training asks. (NCF draws h LeCun-uniform instead.)
    factorization(UserKind users, ItemKind items, const typename BiasOpt::config& bias_opt,
                  interaction inter = interaction::dot)
        : users_(std::move(users)),
          items_(std::move(items)),
          ub_(make_bias(users_, bias_opt)),
          ib_(make_bias(items_, bias_opt)),
          h_(inter == interaction::gmf
                 ? full_embedding<Scalar, BiasOpt>(1, output_options(users_.dim()), bias_opt)
                 : full_embedding<Scalar, BiasOpt>(restore_tag{})),
          inter_(inter) {
        if (inter != interaction::dot && inter != interaction::gmf)
            ::bloom::detail::throw_invalid("factorization: unknown interaction (" +
                                           std::to_string(static_cast<int>(inter)) +
                                           "; dot or gmf)");
        if (users_.dim() != items_.dim())
            ::bloom::detail::throw_invalid(
                "factorization: user dim " + std::to_string(users_.dim()) +
                " differs from item dim " + std::to_string(items_.dim()));
        dim_ = users_.dim();
        if (gmf()) h_.table().weights().setOnes();
    }

    // Empty, for a model file to fill (io::load).
    explicit factorization(restore_tag)
        : users_(restore_tag{}),
          items_(restore_tag{}),
          ub_(restore_tag{}),
          ib_(restore_tag{}),
          h_(restore_tag{}) {}

    // Model files: both embeddings, both bias tables, each with its optimizer; a gmf model also
    // its output weights h ("output"). The kind says the interaction: "factorization" (dot, the
    // files written before gmf existed) or "factorization-gmf", which a build without gmf refuses
    // rather than load h-less.
    template <class A>
    void archive(A& a) {
        if constexpr (A::loading) {
            const std::string kind = a.template get<std::string>("kind");
            if (kind == kind_name(interaction::dot))
                inter_ = interaction::dot;
            else if (kind == kind_name(interaction::gmf))
                inter_ = interaction::gmf;
            else
                a.fail("'" + a.prefix() + "kind' is '" + kind +
                       "', but the object loaded from it expects '" +
                       kind_name(interaction::dot) + "' or '" + kind_name(interaction::gmf) + "'");
        } else {
            a.expect("kind", kind_name(inter_));
        }
        a.value("dim", dim_);
        a.object("user", users_);
        a.object("item", items_);
        a.object("user_bias", ub_);
        a.object("item_bias", ib_);
        if (gmf()) a.object("output", h_);
        if constexpr (A::loading) {
            a.check(users_.dim() == dim_ && items_.dim() == dim_,
                    "the embeddings' dimensions differ from the model's");
            a.check(ub_.ids() == users_.ids() && ub_.dim() == 1,
                    "the user bias table does not have one entry per user");
            a.check(ib_.ids() == items_.ids() && ib_.dim() == 1,
                    "the item bias table does not have one entry per item");
            if (gmf())
                a.check(h_.ids() == 1 && h_.dim() == dim_,
                        "the output weights are not one row of dim (" + std::to_string(dim_) +
                            ") values");
            prepared_ = false;
        }
    }

    std::uint32_t n_users() const noexcept { return users_.ids(); }
    std::uint32_t n_items() const noexcept { return items_.ids(); }
    std::uint32_t dim() const noexcept { return dim_; }
    UserKind& user_embedding() noexcept { return users_; }
    ItemKind& item_embedding() noexcept { return items_; }
    interaction interaction_kind() const noexcept { return inter_; }
    // gmf: the output weights h, a table of one row (id 0) of dim values (predict() and
    // score_user() read them as they are; prepare_scoring() does not copy them).
    full_embedding<Scalar, BiasOpt>& output_weights() {
        if (!gmf())
            ::bloom::detail::throw_invalid(
                "factorization::output_weights: a dot model has no output weights (gmf has)");
        return h_;
    }

    // Learned scalars: embeddings plus the two bias tables (and gmf's output weights).
    std::size_t parameters() const noexcept {
        return users_.parameters() + items_.parameters() + ub_.parameters() + ib_.parameters() +
               (gmf() ? h_.parameters() : 0);
    }
    std::size_t embedding_parameters() const noexcept {
        return users_.parameters() + items_.parameters();
    }

    // Implicit feedback: (users[t], items[t]) are positive pairs; negatives are drawn uniformly.
    //
    // A batch whose loss or one of whose scores is infinite or NaN (a learning rate too high)
    // stops training with bloom::invalid_argument naming the epoch and the batch, before that
    // batch changes anything: the weights are those after the last finite batch (part of the way
    // into the failed epoch), and fit_options::state stays at the last complete epoch.
    //
    // With a keyed item kind the negatives are drawn uniformly from the distinct item keys of
    // `items` (kept by the model: negative_keys()), not from the whole key space: a key that
    // never occurs has no row of its own to learn, and a uniform draw from 10^9 possible keys
    // would almost never hit an item that exists.
    fit_report fit(const user_id* users, const item_id* items, std::size_t n,
                   const fit_options& opt) {
        return fit_impl(users, items, nullptr, n, opt);
    }
    fit_report fit(const std::vector<user_id>& users, const std::vector<item_id>& items,
                   const fit_options& opt) {
        if (users.size() != items.size())
            ::bloom::detail::throw_invalid("factorization::fit: " + std::to_string(users.size()) +
                                           " users but " + std::to_string(items.size()) + " items");
        return fit_impl(users.data(), items.data(), nullptr, users.size(), opt);
    }
    // Explicit feedback: regression on ratings (opt.objective must be loss::regression).
    fit_report fit_explicit(const std::vector<user_id>& users,
                            const std::vector<item_id>& items,
                            const std::vector<float>& ratings, fit_options opt) {
        if (users.size() != items.size() || users.size() != ratings.size())
            ::bloom::detail::throw_invalid("factorization::fit_explicit: column lengths differ (" +
                                           std::to_string(users.size()) + ", " +
                                           std::to_string(items.size()) + ", " +
                                           std::to_string(ratings.size()) + ")");
        opt.objective = loss::regression;
        return fit_impl(users.data(), items.data(), ratings.data(), users.size(), opt);
    }

    // Score of one pair.
    Scalar predict(user_id u, item_id i) const {
        check_user(u);
        check_item(i);
        std::vector<Scalar> eu(dim_), ei(dim_);
        users_.forward(u, eu.data());
        items_.forward(i, ei.data());
        if (gmf()) kernels::mul(eu.data(), h_.view(0), eu.data(), dim_);
        return dot(eu.data(), ei.data()) + bias(ub_, u) + bias(ib_, i);
    }

    // scores[t] = score of (u, items[t]) for t < n: the ranking of a candidate list (every kind;
    // the only one for keyed item kinds, which have no item count). Checked ids.
    void score(user_id u, const item_id* items, std::size_t n, Scalar* scores) const {
        check_user(u);
        std::vector<Scalar> eu(dim_), ei(dim_);
        const Scalar* pu = embed(users_, u, eu.data());
        if (gmf()) {
            kernels::mul(eu.data(), h_.view(0), pu, dim_);
            pu = eu.data();
        }
        const Scalar bu = bias(ub_, u);
        for (std::size_t t = 0; t < n; ++t) {
            check_item(items[t]);
            const Scalar* pi = embed(items_, items[t], ei.data());
            scores[t] = dot(pu, pi) + bu + bias(ib_, items[t]);
        }
    }

    // The item keys a keyed model drew its negatives from (sorted, distinct): those of the last
    // fit(). Empty for other kinds, whose negatives are every id below n_items().
    const std::vector<item_id>& negative_keys() const noexcept { return neg_keys_; }

    // Materialises every item's embedding once, so that score_user() is a matrix-vector product
    // (gmf: with h * user(u) as the vector). Call after training, before (possibly concurrent)
    // score_user() calls.
    void prepare_scoring() {
        item_matrix_.resize(items_.ids(), dim_);
        item_bias_.resize(items_.ids());
        for (std::uint32_t i = 0; i < items_.ids(); ++i) {
            items_.forward(i, item_matrix_.row(i).data());
            item_bias_[i] = bias(ib_, i);
        }
        prepared_ = true;
    }

    // scores[0..n_items) of user u. Thread-safe after prepare_scoring().
    void score_user(std::uint32_t u, Scalar* scores) const {
        if (!prepared_)
            ::bloom::detail::throw_invalid("factorization::score_user: call prepare_scoring() first");
        check_user(u);
        vector<Scalar> eu(dim_);
        users_.forward(u, eu.data());
        if (gmf()) kernels::mul(eu.data(), h_.view(0), eu.data(), dim_);
        Eigen::Map<vector<Scalar>> out(scores, items_.ids());
        out.noalias() = item_matrix_ * eu;
        out += item_bias_;
        const Scalar b = bias(ub_, u);
        out.array() += b;
    }

    // The n best items for user u, excluding `exclude` (e.g. the user's training items; an id
    // listed twice is excluded once), best first, ties by lower id. Fewer than n when fewer
    // items remain.
    std::vector<std::pair<std::uint32_t, Scalar>> recommend(
        std::uint32_t u, std::size_t n, const std::vector<std::uint32_t>& exclude = {}) const {
        std::vector<Scalar> s(items_.ids());
        score_user(u, s.data());
        std::vector<char> excluded(items_.ids(), 0);
        for (std::uint32_t i : exclude) {
            check_item(i);
            excluded[i] = 1;
        }
        // The candidates: every item not excluded, in id order.
        std::vector<std::uint32_t> idx;
        idx.reserve(items_.ids());
        for (std::uint32_t i = 0; i < items_.ids(); ++i)
            if (excluded[i] == 0) idx.push_back(i);
        n = std::min<std::size_t>(n, idx.size());
        std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n), idx.end(),
                          [&](std::uint32_t a, std::uint32_t b) {
                              return s[a] > s[b] || (s[a] == s[b] && a < b);
                          });
        std::vector<std::pair<std::uint32_t, Scalar>> out;
        out.reserve(n);
        for (std::size_t t = 0; t < n; ++t) out.emplace_back(idx[t], s[idx[t]]);
        return out;
    }

    // Calls f(row_grads<Scalar>&) on every table's pending batch gradient, always in the same
    // order (user tables, item tables, user biases, item biases, gmf's output weights): what a data_parallel
    // exchanger reads and replaces between a batch and its optimizer step.
    template <class F>
    void visit_grads(F&& f) {
        static_assert(detail::has_visit_grads_v<UserKind, Scalar> && detail::has_visit_grads_v<ItemKind, Scalar>,
                      "bloom::models::factorization: data-parallel training needs both embedding kinds to "
                      "offer visit_grads(f) over row_grads (robe's run_grads and dhe's dense network "
                      "weights are not exchanged yet)");
        users_.visit_grads(f);
        items_.visit_grads(f);
        f(ub_.table().grads());
        f(ib_.table().grads());
        if (gmf()) f(h_.table().grads());  // gmf's output weights: one row every step touches
    }

private:
    static embedding_options bias_options() {
        embedding_options o;
        o.dim = 1;
        o.init_std = -1.0;  // zeros
        return o;
    }
    template <class Kind>
    static typename detail::kind_bias<Kind, Scalar, BiasOpt>::type make_bias(
        const Kind& kind, const typename BiasOpt::config& c) {
        if constexpr (detail::is_keyed_v<Kind>)
            return kind.template make_bias<BiasOpt>(c);
        else
            return full_embedding<Scalar, BiasOpt>(kind.ids(), bias_options(), c);
    }
    // gmf's output weights: one row of dim (set to ones by the constructor).
    static embedding_options output_options(std::uint32_t dim) {
        embedding_options o;
        o.dim = dim;
        o.init_std = -1.0;
        return o;
    }
    static const char* kind_name(interaction x) noexcept {
        return x == interaction::gmf ? "factorization-gmf" : "factorization";
    }
    bool gmf() const noexcept { return inter_ == interaction::gmf; }
    BLOOM_ALWAYS_INLINE static Scalar bias(const full_embedding<Scalar, BiasOpt>& t,
                                           std::uint32_t id) noexcept {
        return *t.view(id);
    }
    template <class Bias, class Id>
    BLOOM_ALWAYS_INLINE static Scalar bias(const Bias& t, Id id) noexcept {
        return t.scalar(id);
    }
    template <bool Concurrent = false>
    BLOOM_ALWAYS_INLINE static void bias_grad(full_embedding<Scalar, BiasOpt>& t, std::uint32_t id,
                                              Scalar g, unsigned worker = 0) {
        t.table().grads(Concurrent ? worker : 0U).add_scalar(id, g);
    }
    template <bool Concurrent = false, class Bias, class Id>
    BLOOM_ALWAYS_INLINE static void bias_grad(Bias& t, Id id, Scalar g, unsigned worker = 0) {
        t.backward_scalar(id, g, Concurrent ? worker : 0U);
    }
    // The embedding of id: the stored row itself when the kind has one, else computed into buf.
    template <class Kind, class Id>
    BLOOM_ALWAYS_INLINE static const Scalar* embed(const Kind& kind, Id id, Scalar* buf) noexcept {
        const Scalar* v = kind.view(id);
        if (v != nullptr) return v;
        kind.forward(id, buf);
        return buf;
    }
    BLOOM_ALWAYS_INLINE Scalar dot(const Scalar* a, const Scalar* b) const noexcept {
        return kernels::dot(a, b, dim_);
    }
    void check_user(user_id u) const {
        if constexpr (detail::is_keyed_v<UserKind>)
            users_.check_id(u);
        else if (u >= users_.ids())
            ::bloom::detail::throw_range("factorization: user " + std::to_string(u) +
                                         " out of range (" + std::to_string(users_.ids()) +
                                         " users)");
    }
    void check_item(item_id i) const {
        if constexpr (detail::is_keyed_v<ItemKind>)
            items_.check_id(i);
        else if (i >= items_.ids())
            ::bloom::detail::throw_range("factorization: item " + std::to_string(i) +
                                         " out of range (" + std::to_string(items_.ids()) +
                                         " items)");
    }

    static Scalar sigmoid(Scalar x) noexcept {
        return x >= 0 ? Scalar(1) / (Scalar(1) + std::exp(-x))
                      : std::exp(x) / (Scalar(1) + std::exp(x));
    }

    // Loss value and its derivatives with respect to the positive and negative scores.
    struct loss_grad {
        Scalar value, dpos, dneg;
    };
    static loss_grad pair_loss(loss l, Scalar pos, Scalar neg) noexcept {
        switch (l) {
            case loss::bpr: {
                const Scalar s = sigmoid(pos - neg);
                const Scalar d = -s * (Scalar(1) - s);
                return {Scalar(1) - s, d, -d};
            }
            case loss::bpr_log: {
                const Scalar x = pos - neg;
                const Scalar s = sigmoid(x);
                const Scalar value = x >= 0 ? std::log1p(std::exp(-x)) : -x + std::log1p(std::exp(x));
                return {value, s - Scalar(1), Scalar(1) - s};
            }
            case loss::pointwise: {
                const Scalar sp = sigmoid(pos), sn = sigmoid(neg);
                return {(Scalar(1) - sp) + sn, -sp * (Scalar(1) - sp), sn * (Scalar(1) - sn)};
            }
            case loss::hinge:
            case loss::adaptive_hinge:
            default: {
                const Scalar margin = Scalar(1) - (pos - neg);
                if (margin > 0) return {margin, Scalar(-1), Scalar(1)};
                return {Scalar(0), Scalar(0), Scalar(0)};
            }
        }
    }

    static std::string engine_text(const engine& rng) {
        std::ostringstream os;
        os << rng;
        return os.str();
    }
    static void engine_from_text(engine& rng, const std::string& text) {
        std::istringstream is(text);
        is >> rng;
        if (is.fail())
            ::bloom::detail::throw_invalid("factorization::fit: the training state's random "
                                           "engine state does not parse");
    }
    static std::uint64_t data_checksum(const user_id* users, const item_id* items,
                                       const float* ratings, std::size_t n) noexcept {
        std::uint64_t h = XXH64(users, n * sizeof(user_id), n);
        h = XXH64(items, n * sizeof(item_id), h);
        if (ratings != nullptr) h = XXH64(ratings, n * sizeof(float), h);
        return h;
    }

    // Starts opt.state (a new run) or resumes from it: checks the data and settings, replays the
    // shuffles of the epochs done and restores the engine. Returns the epochs done before.
    template <class Example>
    std::uint32_t begin_state(const fit_options& opt, const user_id* users,
                              const item_id* items, const float* ratings,
                                     std::size_t n, Example* ex, engine& rng) {
        training_state* st = opt.state;
        if (st == nullptr) return 0;
        const std::uint64_t sum = data_checksum(users, items, ratings, n);
        if (st->epochs_done == 0) {
            *st = training_state{};
            st->seed = opt.seed;
            st->batch = opt.batch;
            st->objective = opt.objective;
            st->n_negatives = opt.n_negatives;
            st->interaction_kind = inter_;
            st->examples = n;
            st->data_checksum = sum;
            return 0;
        }
        const std::string who = "factorization::fit: resuming after epoch " +
                                std::to_string(st->epochs_done) + ": ";
        if (st->examples != n || st->data_checksum != sum)
            ::bloom::detail::throw_invalid(
                who + "the interactions differ from those of the first run (" + std::to_string(n) +
                " now, " + std::to_string(st->examples) +
                " then, or the same count in another order or with other ids)");
        if (st->seed != opt.seed || st->batch != opt.batch || st->objective != opt.objective ||
            st->n_negatives != opt.n_negatives)
            ::bloom::detail::throw_invalid(
                who + "seed, batch, loss and negatives must be the first run's (seed " +
                std::to_string(st->seed) + ", batch " + std::to_string(st->batch) + ", loss " +
                to_string(st->objective) + ", negatives " + std::to_string(st->n_negatives) + ")");
        if (st->interaction_kind != inter_)
            ::bloom::detail::throw_invalid(who + "the state is a " +
                                           to_string(st->interaction_kind) +
                                           " model's, this model is " + to_string(inter_));
        if (st->epoch_rng.size() != st->epochs_done)
            ::bloom::detail::throw_invalid(who + "the state lacks the epochs' engine states");
        for (const std::string& e : st->epoch_rng) {
            engine r;
            engine_from_text(r, e);
            shuffle(ex, n, r);
        }
        engine_from_text(rng, st->rng);
        return st->epochs_done;
    }

    // Thrown by fit() when a batch's loss (or one of its scores) is infinite or NaN; the epoch
    // and the batch count from 1.
    [[noreturn]] static void diverged(bool loss, std::uint32_t epoch, std::size_t batch,
                                      std::size_t batches) {
        ::bloom::detail::throw_invalid(std::string("factorization::fit: ") +
                                       (loss ? "the loss" : "a score") + " is not finite at epoch " +
                                       std::to_string(epoch) + ", batch " + std::to_string(batch) +
                                       " (of " + std::to_string(batches) +
                                       "): training diverged; lower the learning rate");
    }

    fit_report fit_impl(const user_id* users, const item_id* items,
                        const float* ratings, std::size_t n, const fit_options& opt) {
        if (n == 0) ::bloom::detail::throw_invalid("factorization::fit: no interactions");
        if (opt.batch == 0) ::bloom::detail::throw_invalid("factorization::fit: batch must be >= 1");
        if (opt.objective == loss::adaptive_hinge && opt.n_negatives == 0)
            ::bloom::detail::throw_invalid("factorization::fit: adaptive hinge needs n_negatives >= 1");
        if (opt.objective == loss::bce && opt.n_negatives == 0)
            ::bloom::detail::throw_invalid("factorization::fit: the bce loss needs n_negatives >= 1 "
                                           "(NCF samples 4 per positive)");
        if (opt.objective > loss::bce)
            ::bloom::detail::throw_invalid("factorization::fit: unknown loss (" +
                                           std::to_string(static_cast<int>(opt.objective)) + ")");
        if (opt.objective == loss::regression && ratings == nullptr)
            ::bloom::detail::throw_invalid("factorization::fit: the regression loss needs ratings "
                                           "(use fit_explicit)");
        for (std::size_t t = 0; t < n; ++t) {
            check_fit_ids(t, users[t], items[t]);
            if (ratings != nullptr && !std::isfinite(ratings[t]))
                ::bloom::detail::throw_invalid("factorization::fit: interaction " +
                                               std::to_string(t) + ": rating is not finite");
        }
        if constexpr (detail::is_keyed_v<ItemKind>)
            if (opt.objective != loss::regression) collect_negative_keys(items, n);
        const unsigned threads = resolve_threads(opt.threads);
        if (threads > 1) check_concurrent_support();
        if (opt.parallel != nullptr && threads != 1)
            ::bloom::detail::throw_invalid("factorization::fit: data-parallel training (parallel) "
                                           "needs threads = 1, not " + std::to_string(threads));
        prepared_ = false;
        engine rng(opt.seed);
        // The examples are shuffled in place each epoch, so the training loop reads them
        // sequentially (an index permutation would cost a cache miss per example).
        std::vector<example> ex(n);
        for (std::size_t t = 0; t < n; ++t)
            ex[t] = {users[t], items[t], ratings != nullptr ? ratings[t] : 0.0f};
        const std::uint32_t first_epoch = begin_state(opt, users, items, ratings, n, ex.data(), rng);
        const std::size_t n_batches = (n - 1) / opt.batch + 1;
        if (threads > 1) set_workers(threads);
        // Each worker's buffers (one worker without threads).
        std::vector<worker_state> ws;
        for (unsigned w = 0; w < threads; ++w) ws.emplace_back(*this, opt, n, threads);

        fit_report rep;
        for (std::uint32_t epoch = 0; epoch < opt.epochs; ++epoch) {
            const auto t0 = std::chrono::steady_clock::now();
            // The state records the epoch only once it is done (a diverged epoch leaves it as
            // it was, ready to resume with other settings).
            const std::string epoch_start = opt.state != nullptr ? engine_text(rng) : std::string();
            shuffle(ex.data(), n, rng);
            double loss_sum = 0;
            if (opt.parallel != nullptr) {
                loss_sum = parallel_epoch(ws[0], ex.data(), n, rng, opt, first_epoch + epoch + 1);
            } else if (threads == 1) {
                worker_state& w = ws[0];
                for (std::size_t b0 = 0; b0 < n; b0 += opt.batch) {
                    const std::size_t nb = std::min<std::size_t>(n - b0, opt.batch);
                    // Diverged: the batch has touched no gradient and no weight, so the model
                    // keeps the weights of the last batch whose loss was finite.
                    if (BLOOM_UNLIKELY(!run_batch<false>(w, ex.data() + b0, nb, rng, 0, opt, loss_sum)))
                        diverged(!std::isfinite(loss_sum), first_epoch + epoch + 1,
                                 b0 / opt.batch + 1, n_batches);
                    users_.step();
                    items_.step();
                    ub_.step();
                    ib_.step();
                    if (gmf()) h_.step();
                }
            } else if constexpr (has_workers<UserKind>::value && has_workers<ItemKind>::value) {
                // (kinds without workers never get here: check_concurrent_support() threw)
                loss_sum = concurrent_epoch(ws, ex.data(), n, rng, opt, first_epoch + epoch + 1);
            }
            // Kinds with an end-of-epoch step (CCE's reclustering) take it now; its time counts
            // in the epoch's.
            end_epoch(users_, first_epoch + epoch);
            end_epoch(items_, first_epoch + epoch);
            const double secs =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            rep.epoch_seconds.push_back(secs);
            rep.epoch_loss.push_back(loss_sum / static_cast<double>(n));
            rep.total_seconds += secs;
            if (opt.state != nullptr) {
                opt.state->epoch_rng.push_back(epoch_start);
                opt.state->rng = engine_text(rng);
                ++opt.state->epochs_done;
            }
            if (opt.on_epoch) opt.on_epoch(first_epoch + epoch, secs, loss_sum / static_cast<double>(n));
        }
        return rep;
    }

    // --- the batch: shared by one thread and by the concurrent workers --------------------------

    struct example {
        user_id user;
        item_id item;
        float rating;
    };
    struct slot {
        const Scalar* eu;
        const Scalar* su;  // the user side of the scores: eu (dot), or h * eu (gmf)
        const Scalar* ep;
        const Scalar* en;
        item_id neg;
        Scalar pos_score, neg_score;
        // d batch loss / d score (regression: dpos only; bce: dpos, the draws' in neg_grad)
        Scalar dpos, dneg;
    };
    // One worker's buffers. A minibatch is two passes. The forward pass computes every example's
    // embeddings and scores (the weights do not change within a batch), so the examples'
    // gathers, dot products and exponentials are independent and overlap in the CPU; the
    // backward pass then accumulates the gradients in the same order as one pass would.
    // Embeddings that are not a stored row (Bloom sums...) are kept in ebuf for the backward:
    // per example the user's, the positive's, the negative's (bce: each draw's) and, for gmf,
    // h * user.
    struct worker_state {
        std::vector<Scalar> ebuf, best, gu, gp, gn, gc, gh;
        std::vector<slot> sl;
        // The negatives each example draws (n_negatives for the adaptive hinge and bce, else
        // one), drawn for the whole batch before its forward pass, in example order: the same
        // draws as drawing them example by example. (Prefetching the rows of the examples ahead
        // from these was tried and measured no faster here: docs/scaling.md.)
        std::size_t n_draws = 0;
        std::size_t stride = 0;  // ebuf values per example
        std::vector<item_id> negs;
        std::vector<std::uint32_t> batch_ids;  // a batch's ids, for kinds with a batch mode
        std::vector<const Scalar*> neg_emb;  // bce: each draw's embedding
        std::vector<Scalar> neg_grad;        // bce: each draw's d batch loss / d score
        double loss = 0;             // this epoch's loss sum (concurrent workers)
        std::uint64_t batches = 0;   // this epoch's batches (concurrent workers)
        worker_state(const factorization& f, const fit_options& opt, std::size_t n, unsigned threads) {
            const std::size_t d = f.dim_;
            const std::size_t bmax = std::min<std::size_t>(opt.batch, (n + threads - 1) / threads);
            const bool bce = opt.objective == loss::bce;
            n_draws = opt.objective == loss::regression ? 0
                      : opt.objective == loss::adaptive_hinge || bce ? opt.n_negatives : 1;
            stride = (2 + (bce ? n_draws : 1) + (f.gmf() ? 1 : 0)) * d;
            ebuf.resize(stride * bmax);
            best.resize(d);
            gu.resize(d);
            gp.resize(d);
            gn.resize(d);
            if (f.gmf()) {
                gc.resize(d);
                gh.resize(d);
            }
            sl.resize(bmax);
            negs.resize(bmax * n_draws);
            batch_ids.reserve(bmax * (1 + n_draws));
            if (bce) {
                neg_emb.resize(bmax * n_draws);
                neg_grad.resize(bmax * n_draws);
            }
        }
    };
    // Forward and backward of the nb examples at ex: negatives from rng, gradients into
    // `worker`'s accumulators, losses added to loss_sum. Returns false, before any gradient is
    // accumulated, when loss_sum or one of the batch's scores is not finite.
    template <bool Concurrent>
    bool run_batch(worker_state& w, const example* ex, std::size_t nb, engine& rng,
                   unsigned worker, const fit_options& opt, double& loss_sum) {
        const std::uint32_t n_items = negative_count();
        for (std::size_t t = 0; t < nb * w.n_draws; ++t) w.negs[t] = draw_negative(rng, n_items);
        // Kinds with a batch mode compute the batch's embeddings at once (one worker only).
        if constexpr (!Concurrent) begin_batches(w, ex, nb);
        bool ok = false;
        try {
            ok = gmf() ? run_batch_as<Concurrent, true>(w, ex, nb, worker, opt, loss_sum)
                       : run_batch_as<Concurrent, false>(w, ex, nb, worker, opt, loss_sum);
        } catch (...) {
            // (no kind is left in a batch: its view() would go on returning the batch's rows)
            if constexpr (!Concurrent) {
                end_batch(users_);
                end_batch(items_);
            }
            throw;
        }
        if constexpr (!Concurrent) {
            end_batch(users_);
            end_batch(items_);
        }
        return ok;
    }
    // Kinds with a batch mode (dhe_embedding, tt_embedding): begin_batch(ids, n) computes the
    // embeddings of a batch's ids (repeats allowed) together, as matrix products, and view(id)
    // returns them until end_batch(); backward() then sums the gradients of each distinct id, and
    // end_batch() runs the batch's backward at once into the kind's gradient (so that step(),
    // and the exchange of data-parallel training before it, see it as before). Outside a batch
    // the kind computes one id at a time (forward(), which scoring and the concurrent workers use).
    template <class Kind, class = void>
    struct has_batch_mode : std::false_type {};
    template <class Kind>
    struct has_batch_mode<Kind, std::void_t<decltype(std::declval<Kind&>().begin_batch(
                                                std::declval<const std::uint32_t*>(), std::size_t{})),
                                            decltype(std::declval<Kind&>().end_batch())>>
        : std::true_type {};
    void begin_batches(worker_state& w, const example* ex, std::size_t nb) {
        if constexpr (has_batch_mode<UserKind>::value) {
            w.batch_ids.clear();
            for (std::size_t t = 0; t < nb; ++t) w.batch_ids.push_back(static_cast<std::uint32_t>(ex[t].user));
            users_.begin_batch(w.batch_ids.data(), w.batch_ids.size());
        }
        if constexpr (has_batch_mode<ItemKind>::value) {
            w.batch_ids.clear();
            for (std::size_t t = 0; t < nb; ++t) w.batch_ids.push_back(static_cast<std::uint32_t>(ex[t].item));
            for (std::size_t t = 0; t < nb * w.n_draws; ++t)
                w.batch_ids.push_back(static_cast<std::uint32_t>(w.negs[t]));
            items_.begin_batch(w.batch_ids.data(), w.batch_ids.size());
        }
        (void)w;
        (void)ex;
        (void)nb;
    }
    template <class Kind>
    static void end_batch(Kind& kind) {
        if constexpr (has_batch_mode<Kind>::value) kind.end_batch();
        (void)kind;
    }
    // log(1 + e^x), without overflow.
    static Scalar softplus(Scalar x) noexcept {
        return x >= 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    }
    // run_batch for one interaction. A score is dot(su, item) + biases, with su the user's
    // embedding (dot) or h * the user's embedding (gmf), computed once per example. Of gmf's
    // score h . (p * q): d/dq = h * p = su, d/dp = h * q and d/dh = p * q; so with c the sum of
    // dloss/dscore * q over the example's items, the user's gradient is h * c and h's p * c.
    template <bool Concurrent, bool Gmf>
    bool run_batch_as(worker_state& w, const example* ex, std::size_t nb, unsigned worker,
                      const fit_options& opt, double& loss_sum) {
        const std::uint32_t d = dim_;
        const bool implicit = opt.objective != loss::regression;
        const bool bce = opt.objective == loss::bce;
        const std::size_t n_draws = w.n_draws;
        const std::size_t stride = w.stride;
        const Scalar inv_b = Scalar(1) / static_cast<Scalar>(nb);
        const Scalar* h = nullptr;
        if constexpr (Gmf) h = h_.view(0);
        // The batch's scores summed: infinite or NaN when one of them is (a score can be
        // infinite while the loss is not: the BPR loss of an infinite margin is 0).
        double score_sum = 0;
        // Forward: embeddings, scores and losses (the negatives are drawn: run_batch).
        for (std::size_t t = 0; t < nb; ++t) {
            const example& e = ex[t];
            const item_id* drawn = w.negs.data() + t * n_draws;
            Scalar* buf = w.ebuf.data() + t * stride;
            slot& x = w.sl[t];
            x.eu = embed(users_, e.user, buf);
            x.ep = embed(items_, e.item, buf + d);
            x.su = x.eu;
            if constexpr (Gmf) {
                Scalar* hu = buf + stride - d;
                kernels::mul(hu, h, x.eu, d);
                x.su = hu;
            }
            const Scalar bu = bias(ub_, e.user);
            x.pos_score = dot(x.su, x.ep) + bu + bias(ib_, e.item);
            score_sum += static_cast<double>(x.pos_score);
            if (!implicit) {
                const Scalar err = x.pos_score - static_cast<Scalar>(e.rating);
                loss_sum += static_cast<double>(err * err);
                x.dpos = Scalar(2) * err * inv_b;
                continue;
            }
            if (bce) {
                // Label 1 on the positive: -log sigmoid(pos); label 0 on each draw:
                // -log(1 - sigmoid(neg)) = log(1 + e^neg).
                loss_sum += static_cast<double>(softplus(-x.pos_score));
                x.dpos = (sigmoid(x.pos_score) - Scalar(1)) * inv_b;
                const Scalar** ne = w.neg_emb.data() + t * n_draws;
                Scalar* ng = w.neg_grad.data() + t * n_draws;
                for (std::size_t s = 0; s < n_draws; ++s) {
                    const item_id j = drawn[s];
                    ne[s] = embed(items_, j, buf + (2 + s) * d);
                    const Scalar sc = dot(x.su, ne[s]) + bu + bias(ib_, j);
                    score_sum += static_cast<double>(sc);
                    loss_sum += static_cast<double>(softplus(sc));
                    ng[s] = sigmoid(sc) * inv_b;
                }
                continue;
            }
            item_id j = drawn[0];
            x.en = embed(items_, j, buf + 2 * d);
            Scalar neg = dot(x.su, x.en) + bu + bias(ib_, j);
            if (opt.objective == loss::adaptive_hinge) {
                for (std::uint32_t s = 1; s < opt.n_negatives; ++s) {
                    const item_id j2 = drawn[s];
                    const Scalar* p2 = embed(items_, j2, w.best.data());
                    const Scalar neg2 = dot(x.su, p2) + bu + bias(ib_, j2);
                    if (neg2 > neg) {
                        neg = neg2;
                        j = j2;
                        if (p2 == w.best.data()) {
                            kernels::copy(buf + 2 * d, p2, d);
                            x.en = buf + 2 * d;
                        } else {
                            x.en = p2;
                        }
                    }
                }
            }
            x.neg = j;
            x.neg_score = neg;
            score_sum += static_cast<double>(neg);
            const loss_grad lg = pair_loss(opt.objective, x.pos_score, neg);
            loss_sum += static_cast<double>(lg.value);
            x.dpos = lg.dpos * inv_b;
            x.dneg = lg.dneg * inv_b;
        }
        // One test per batch: the running sums are finite as long as every loss and score has been.
        if (BLOOM_UNLIKELY(!std::isfinite(loss_sum) || !std::isfinite(score_sum)))
            return false;
        // Backward: gradients, accumulation into the touched rows.
        Scalar* gu = w.gu.data();
        Scalar* gp = w.gp.data();
        Scalar* gn = w.gn.data();
        // dot: the user's gradient is c itself, summed straight into gu.
        Scalar* c = Gmf ? w.gc.data() : gu;
        Scalar* gh = Gmf ? w.gh.data() : nullptr;
        if constexpr (Gmf) kernels::set_zero(gh, d);
        // gmf: from c, the user's gradient h * c and h's p * c.
        const auto gmf_user = [&](const slot& x) {
            if constexpr (Gmf) {
                kernels::mul(gu, h, c, d);
                kernels::mul_add(gh, x.eu, c, d);
            } else {
                (void)x;
            }
        };
        for (std::size_t t = 0; t < nb; ++t) {
            const example& e = ex[t];
            const slot& x = w.sl[t];
            const user_id u = e.user;
            const item_id i = e.item;
            if (!implicit) {
                const Scalar g = x.dpos;
                kernels::scaled_copy(c, g, x.ep, d);
                gmf_user(x);
                kernels::scaled_copy(gp, g, x.su, d);
                backward<Concurrent>(users_, u, gu, worker);
                backward<Concurrent>(items_, i, gp, worker);
                bias_grad<Concurrent>(ub_, u, g, worker);
                bias_grad<Concurrent>(ib_, i, g, worker);
                continue;
            }
            if (bce) {
                const item_id* drawn = w.negs.data() + t * n_draws;
                const Scalar* const* ne = w.neg_emb.data() + t * n_draws;
                const Scalar* ng = w.neg_grad.data() + t * n_draws;
                const Scalar dp = x.dpos;
                kernels::scaled_copy(c, dp, x.ep, d);
                for (std::size_t s = 0; s < n_draws; ++s) kernels::axpy(c, ng[s], ne[s], d);
                gmf_user(x);
                kernels::scaled_copy(gp, dp, x.su, d);
                backward<Concurrent>(users_, u, gu, worker);
                backward<Concurrent>(items_, i, gp, worker);
                Scalar du = dp;
                for (std::size_t s = 0; s < n_draws; ++s) {
                    kernels::scaled_copy(gn, ng[s], x.su, d);
                    backward<Concurrent>(items_, drawn[s], gn, worker);
                    bias_grad<Concurrent>(ib_, drawn[s], ng[s], worker);
                    du += ng[s];
                }
                bias_grad<Concurrent>(ub_, u, du, worker);
                bias_grad<Concurrent>(ib_, i, dp, worker);
                continue;
            }
            const item_id j = x.neg;
            const Scalar dp = x.dpos, dn = x.dneg;
            if (dp == Scalar(0) && dn == Scalar(0)) continue;
            kernels::lincomb(c, dp, x.ep, dn, x.en, d);
            gmf_user(x);
            kernels::scaled_copy(gp, dp, x.su, d);
            kernels::scaled_copy(gn, dn, x.su, d);
            backward<Concurrent>(users_, u, gu, worker);
            backward<Concurrent>(items_, i, gp, worker);
            backward<Concurrent>(items_, j, gn, worker);
            bias_grad<Concurrent>(ub_, u, dp + dn, worker);
            bias_grad<Concurrent>(ib_, i, dp, worker);
            bias_grad<Concurrent>(ib_, j, dn, worker);
        }
        if constexpr (Gmf) backward<Concurrent>(h_, std::uint32_t{0}, gh, worker);
        return true;
    }

    // --- several replicas: data parallel (see data_parallel) ------------------------------------
    //
    // The epoch's shuffled examples in batches of batch * R; replica r runs its slice of each,
    // the exchanger makes every replica's gradients the batch's, and every replica steps alike.
    // The engine skips (draws and drops) the other slices' negatives, one draw each, so that the
    // stream stays that of one process with the whole batch.
    double parallel_epoch(worker_state& w, example* ex, std::size_t n, engine& rng,
                          const fit_options& opt, std::uint32_t epoch) {
        data_parallel& par = *opt.parallel;
        const std::size_t ranks = par.ranks(), rank = par.rank();
        const std::size_t global = static_cast<std::size_t>(opt.batch) * ranks;
        const std::size_t n_batches = (n - 1) / global + 1;
        double loss_sum = 0;
        for (std::size_t b0 = 0; b0 < n; b0 += global) {
            const std::size_t nb = std::min(n - b0, global);
            const std::size_t lo = nb * rank / ranks, hi = nb * (rank + 1) / ranks;
            rng.discard(static_cast<unsigned long long>(lo * w.n_draws));
            double batch_loss = 0;
            // A step of fewer examples than ranks leaves some slices empty.
            const bool finite =
                hi == lo || run_batch<false>(w, ex + b0 + lo, hi - lo, rng, 0, opt, batch_loss);
            rng.discard(static_cast<unsigned long long>((nb - hi) * w.n_draws));
            if (BLOOM_UNLIKELY(!par.exchange(hi - lo, nb, batch_loss, finite)))
                diverged(!std::isfinite(batch_loss), epoch, b0 / global + 1, n_batches);
            loss_sum += batch_loss;
            users_.step();
            items_.step();
            ub_.step();
            ib_.step();
            if (gmf()) h_.step();
        }
        return loss_sum;
    }

    // --- several threads: Hogwild ----------------------------------------------------------------
    //
    // The epoch's shuffled examples are cut into `threads` contiguous shares, one per worker.
    // Each worker has its own random engine (seeded from the epoch's stream), its own gradient
    // accumulators and buffers, and runs its share's minibatches as one thread does; at the end of
    // each of its batches it applies its gradients to the shared tables and optimizer state
    // without locks (Hogwild, Recht et al. 2011; fastText trains this way). Two workers that
    // update the same row at the same moment may lose part of one update, and the order of the
    // workers' updates is up to the scheduler: results vary from run to run. The optimizer's step
    // count is shared: worker w's b-th batch is step t0 + b * threads + w + 1, and the epoch
    // advances the count by the batches done.
    double concurrent_epoch(std::vector<worker_state>& ws, example* ex, std::size_t n, engine& rng,
                            const fit_options& opt, std::uint32_t epoch) {
        const unsigned threads = static_cast<unsigned>(ws.size());
        std::vector<std::uint64_t> seeds(threads);
        for (auto& sd : seeds) sd = rng();
        std::atomic<bool> stop{false};
        std::atomic<std::size_t> failed_batch{0};
        std::atomic<bool> failed_loss{false};
        const auto work = [&](unsigned w) {
            worker_state& st = ws[w];
            engine wr(seeds[w]);
            const std::size_t lo = n * w / threads, hi = n * (w + 1) / threads;
            st.loss = 0;
            st.batches = 0;
            for (std::size_t b0 = lo; b0 < hi; b0 += opt.batch) {
                if (stop.load(std::memory_order_relaxed)) return;
                const std::size_t nb = std::min<std::size_t>(hi - b0, opt.batch);
                if (BLOOM_UNLIKELY(!run_batch<true>(st, ex + b0, nb, wr, w, opt, st.loss))) {
                    if (!stop.exchange(true)) {
                        failed_batch = st.batches * threads + w + 1;
                        failed_loss = !std::isfinite(st.loss);
                    }
                    return;
                }
                const std::uint64_t index = st.batches * threads + w;
                users_.step_concurrent(w, index);
                items_.step_concurrent(w, index);
                ub_.step_concurrent(w, index);
                ib_.step_concurrent(w, index);
                if (gmf()) h_.step_concurrent(w, index);
                ++st.batches;
            }
        };
        std::vector<std::thread> pool;
        pool.reserve(threads - 1);
        for (unsigned w = 1; w < threads; ++w) pool.emplace_back(work, w);
        work(0);
        for (std::thread& t : pool) t.join();
        std::uint64_t batches = 0;
        double loss_sum = 0;
        for (const worker_state& st : ws) {
            batches += st.batches;
            loss_sum += st.loss;
        }
        users_.end_concurrent(batches);
        items_.end_concurrent(batches);
        ub_.end_concurrent(batches);
        ib_.end_concurrent(batches);
        if (gmf()) h_.end_concurrent(batches);
        if (stop.load()) {
            // Batches are numbered across the workers as their steps are (b * threads + w + 1).
            std::size_t n_batches = 0;
            for (unsigned w = 0; w < threads; ++w) {
                const std::size_t share = n * (w + 1) / threads - n * w / threads;
                n_batches = std::max(n_batches, ((share + opt.batch - 1) / opt.batch) * threads);
            }
            diverged(failed_loss.load(), epoch, failed_batch.load(), n_batches);
        }
        return loss_sum;
    }

    static unsigned resolve_threads(std::uint32_t t) noexcept {
        if (t != 0) return t;
        const unsigned hw = std::thread::hardware_concurrency();
        return hw == 0 ? 1 : hw;
    }

    // Kinds and optimizers that can take concurrent workers (every kind and optimizer of bloom but
    // dhe_embedding).
    template <class Kind, class = void>
    struct has_workers : std::false_type {};
    template <class Kind>
    struct has_workers<Kind, std::void_t<decltype(std::declval<Kind&>().set_workers(1U)),
                                         decltype(std::declval<Kind&>().step_concurrent(
                                             0U, std::uint64_t{}))>> : std::true_type {};
    static void check_concurrent_support() {
        if constexpr (!has_workers<UserKind>::value || !has_workers<ItemKind>::value)
            ::bloom::detail::throw_invalid(
                "factorization::fit: threads > 1 needs embedding kinds with set_workers() and "
                "step_concurrent() (every kind of bloom::models has them but dhe_embedding, whose "
                "weights are dense); use threads = 1");
    }
    void set_workers(unsigned threads) {
        if constexpr (has_workers<UserKind>::value && has_workers<ItemKind>::value) {
            users_.set_workers(threads);
            items_.set_workers(threads);
        }
        ub_.set_workers(threads);
        ib_.set_workers(threads);
        if (gmf()) h_.set_workers(threads);
    }
    // Kinds with an end_epoch(epoch) member (cce_embedding: its reclustering); the others have
    // nothing to do between epochs.
    template <class Kind, class = void>
    struct has_end_epoch : std::false_type {};
    template <class Kind>
    struct has_end_epoch<Kind, std::void_t<decltype(std::declval<Kind&>().end_epoch(std::uint32_t{}))>>
        : std::true_type {};
    template <class Kind>
    static void end_epoch(Kind& kind, std::uint32_t epoch) {
        if constexpr (has_end_epoch<Kind>::value) kind.end_epoch(epoch);
    }
    template <bool Concurrent, class Kind, class Id>
    BLOOM_ALWAYS_INLINE static void backward(Kind& kind, Id id, const Scalar* g,
                                             unsigned worker) {
        if constexpr (Concurrent)
            kind.backward(id, g, worker);
        else
            kind.backward(id, g);
    }

    // --- negatives and id checks: dense ids or keys ------------------------------------------------

    // The number of items negatives are drawn from, and one draw (uniform over them).
    std::uint32_t negative_count() const noexcept {
        if constexpr (detail::is_keyed_v<ItemKind>)
            return static_cast<std::uint32_t>(neg_keys_.size());
        else
            return items_.ids();
    }
    BLOOM_ALWAYS_INLINE item_id draw_negative(engine& rng, std::uint32_t n_items) const noexcept {
        if constexpr (detail::is_keyed_v<ItemKind>)
            return neg_keys_[uniform_below(rng, n_items)];
        else
            return uniform_below(rng, n_items);
    }
    // The sorted distinct item keys of a keyed fit(): what negatives are drawn from.
    void collect_negative_keys(const item_id* items, std::size_t n) {
        neg_keys_.assign(items, items + n);
        std::sort(neg_keys_.begin(), neg_keys_.end());
        neg_keys_.erase(std::unique(neg_keys_.begin(), neg_keys_.end()), neg_keys_.end());
        neg_keys_.shrink_to_fit();
        if (neg_keys_.size() > 0xFFFFFFFFULL)
            ::bloom::detail::throw_invalid("factorization::fit: " +
                                           std::to_string(neg_keys_.size()) +
                                           " distinct item keys; negatives are drawn from at most "
                                           "2^32 - 1");
    }
    void check_fit_ids(std::size_t t, user_id u, item_id i) const {
        const auto where = [&](const char* what) {
            return "factorization::fit: interaction " + std::to_string(t) + ": " + what + " ";
        };
        if constexpr (detail::is_keyed_v<UserKind>) {
            if (users_.spec().items() != 0 && u >= users_.spec().items())
                ::bloom::detail::throw_range(where("user key") + std::to_string(u) +
                                             " is outside the key space (" +
                                             std::to_string(users_.spec().items()) + " keys)");
        } else if (u >= users_.ids()) {
            ::bloom::detail::throw_range(where("user") + std::to_string(u) + " out of range (" +
                                         std::to_string(users_.ids()) + " users)");
        }
        if constexpr (detail::is_keyed_v<ItemKind>) {
            if (items_.spec().items() != 0 && i >= items_.spec().items())
                ::bloom::detail::throw_range(where("item key") + std::to_string(i) +
                                             " is outside the key space (" +
                                             std::to_string(items_.spec().items()) + " keys)");
        } else if (i >= items_.ids()) {
            ::bloom::detail::throw_range(where("item") + std::to_string(i) + " out of range (" +
                                         std::to_string(items_.ids()) + " items)");
        }
    }

    UserKind users_;
    ItemKind items_;
    typename detail::kind_bias<UserKind, Scalar, BiasOpt>::type ub_;
    typename detail::kind_bias<ItemKind, Scalar, BiasOpt>::type ib_;
    std::vector<item_id> neg_keys_;  // keyed items: the keys negatives are drawn from
    full_embedding<Scalar, BiasOpt> h_;  // gmf's output weights (empty for dot)
    interaction inter_ = interaction::dot;
    std::uint32_t dim_ = 0;
    matrix<Scalar> item_matrix_;
    vector<Scalar> item_bias_;
    bool prepared_ = false;
};

}  // namespace models
}  // namespace bloom
