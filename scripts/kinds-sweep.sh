#!/usr/bin/env bash
# The embedding kinds against their parameter budget: bloom-compare --rows over every kind, a run
# per seed, then the CSVs joined into one file that scripts/plot-results.sh draws (kinds_sweep).
#
#   scripts/kinds-sweep.sh ml100k    [OUT_DIR]   MovieLens 100K (../shared/data/ml-100k/u.data)
#   scripts/kinds-sweep.sh synthetic [OUT_DIR]   the built-in generator at MovieLens 1M's size
#                                                (6,040 users, 3,706 items)
#
# Writes OUT_DIR/kinds-NAME-runs.csv (default OUT_DIR: build/kinds-sweep): the rows of every
# seed's PREFIX.csv, one per (kind, budget), with a seed column. Settings (environment):
#   ROWS     rows per table, the budget of each compressed table (default: 128,256,512,1024 for
#            ml100k, where 943 users and 1,682 items leave larger budgets uncompressed;
#            1024,4096,8192 for synthetic, the rows of the public ML-1M study)
#   SEEDS    training seeds (default 1,2,3); EPOCHS (default 10); INTERACTIONS (synthetic,
#            default 1000209, ML-1M's count); METHODS (default every kind but small-dim, which
#            --rows does not take); BLOOM_COMPARE (default build/release/examples/bloom-compare);
#            EXTRA: more bloom-compare options (e.g. "--dhe-max-width 256")
# Every kind trains with bloom-compare's defaults: dim 32, BPR, lazy Adam lr 1e-2 (dhe's network
# and tt's cores 1e-3: --dhe-lr, --tt-lr), batch 256, k 4, one training thread.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=${1:-}
out=${2:-$here/build/kinds-sweep}
bin=${BLOOM_COMPARE:-$here/build/release/examples/bloom-compare}
seeds=${SEEDS:-1,2,3}
epochs=${EPOCHS:-10}
methods=${METHODS:-full,bloom,hashing,hash-emb,qr,freq-bloom,bloom-history,robe,mixed-dim,cce,tt,dhe}
case "$name" in
    ml100k)
        ratings=$here/../shared/data/ml-100k/u.data
        [ -f "$ratings" ] || { echo "kinds-sweep: no MovieLens 100K at $ratings" >&2; exit 2; }
        data=(--data "$ratings")
        rows=${ROWS:-128,256,512,1024}
        ;;
    synthetic)
        data=(--synthetic-users 6040 --synthetic-items 3706
              --synthetic-interactions "${INTERACTIONS:-1000209}")
        rows=${ROWS:-1024,4096,8192}
        ;;
    *)
        echo "usage: scripts/kinds-sweep.sh ml100k|synthetic [OUT_DIR]" >&2
        exit 2
        ;;
esac
[ -x "$bin" ] || { echo "kinds-sweep: build bloom-compare first (./run.sh demo)" >&2; exit 2; }
mkdir -p "$out"
joined=$out/kinds-$name-runs.csv
rm -f "$joined"
IFS=, read -r -a seed_list <<< "$seeds"
for seed in "${seed_list[@]}"; do
    prefix=$out/kinds-$name-seed$seed
    echo "== seed $seed: $bin ${data[*]} --methods $methods --rows $rows --epochs $epochs ${EXTRA:-}" >&2
    "$bin" "${data[@]}" --methods "$methods" --rows "$rows" --epochs "$epochs" --seed "$seed" \
        --threads 1 --quiet --out "$prefix" ${EXTRA:-} > "$prefix.txt"
    cat "$prefix.txt" >&2
    # every row of PREFIX.csv (one run per configuration here), with the seed appended
    awk -F, -v seed="$seed" -v first="$([ -f "$joined" ] && echo 0 || echo 1)" '
        NR == 1 { if (first) print $0 ",seed"; next }
        { print $0 "," seed }' "$prefix.csv" >> "$joined"
done
echo "kinds-sweep: wrote $joined" >&2
