// Umbrella header: everything in bloom's core. The optional hash policies (FarmHash, MetroHash,
// MD5/SHA) come in through <bloom/hash/all.hpp> only when their CMake targets
// (bloom::farmhash, bloom::metrohash, bloom::crypto) are linked.
#pragma once

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/tensor.hpp>

#include <bloom/hash/all.hpp>
#include <bloom/hash/modulo.hpp>
#include <bloom/hash/multiply_shift.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/policy.hpp>
#include <bloom/hash/xxhash.hpp>

#include <bloom/encoding/csr.hpp>
#include <bloom/encoding/decoder.hpp>
#include <bloom/encoding/diagnostics.hpp>
#include <bloom/encoding/encoder.hpp>
#include <bloom/encoding/position_table.hpp>
#include <bloom/encoding/spec.hpp>
#include <bloom/encoding/spotlight.hpp>

#include <bloom/data/interactions.hpp>
#include <bloom/data/loaders.hpp>
#include <bloom/data/sparse_keys.hpp>
#include <bloom/data/split.hpp>
#include <bloom/data/synthetic.hpp>
#include <bloom/data/writers.hpp>

#include <bloom/eval/evaluate.hpp>
#include <bloom/eval/keys.hpp>
#include <bloom/eval/metrics.hpp>
#include <bloom/eval/rmse.hpp>
#include <bloom/eval/user_items.hpp>

#include <bloom/optim/adagrad.hpp>
#include <bloom/optim/adam.hpp>
#include <bloom/optim/sgd.hpp>

#include <bloom/ad/gradient_check.hpp>
#include <bloom/ad/losses.hpp>
#include <bloom/ad/ops.hpp>
#include <bloom/ad/sparse_ops.hpp>
#include <bloom/ad/tape.hpp>
#include <bloom/nn/embedding.hpp>
#include <bloom/nn/init.hpp>
#include <bloom/nn/linear.hpp>
#include <bloom/nn/mlp.hpp>

#include <bloom/models/cce.hpp>
#include <bloom/models/dhe.hpp>
#include <bloom/models/embeddings.hpp>
#include <bloom/models/mixed_dim.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/models/keyed.hpp>
#include <bloom/models/robe.hpp>
#include <bloom/models/tt.hpp>
#include <bloom/io/model_file.hpp>
#include <bloom/io/archive.hpp>
