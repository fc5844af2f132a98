#!/usr/bin/env bash
# Side-by-side run of bloom and the PyTorch reference (../shared/peers/torch_mf.py) on the same
# ratings file with the same hyperparameters, in one invocation, so the speed ratio is measured
# on the same machine at the same time. bloom's history Bloom model is measured against
# scripts/torch_history_mf.py, the same model written in plain PyTorch.
#
#   scripts/compare-pytorch.sh [RATINGS] [OUT_DIR]
#
# Defaults: ../shared/data/ml-100k/u.data and build/compare-pytorch/. Needs Debian's python3-torch,
# python3-numpy and python3-sklearn (for the reference) and a Release build of bloom-compare
# (./run.sh demo builds one). Settings: dim 32, batch 256, BPR, Adam lr 1e-2, L2 1e-6, 10 epochs,
# random 80/20 split, k = 4, users and items compressed, one training thread each.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ratings=${1:-$here/../shared/data/ml-100k/u.data}
out=${2:-$here/build/compare-pytorch}
peer=${BLOOM_PEER:-$here/../shared/peers/torch_mf.py}
bin=${BLOOM_COMPARE:-$here/build/release/examples/bloom-compare}
ratios=${RATIOS:-1.0,0.2}
# Debian's interpreter, where python3-torch lives (a python3 earlier on PATH may lack torch).
py=${PYTHON:-/usr/bin/python3}

[ -f "$ratings" ] || { echo "compare-pytorch: no ratings file at $ratings" >&2; exit 2; }
[ -f "$peer" ] || { echo "compare-pytorch: no reference script at $peer" >&2; exit 2; }
[ -x "$bin" ] || { echo "compare-pytorch: build bloom-compare first (./run.sh demo)" >&2; exit 2; }
mkdir -p "$out"

echo "== PyTorch reference: $peer" >&2
"$py" "$peer" "$ratings" --ratios "$ratios" --k 4 --threads 1 | tee "$out/pytorch.jsonl" >&2
echo "== PyTorch history Bloom: $here/scripts/torch_history_mf.py" >&2
"$py" "$here/scripts/torch_history_mf.py" "$ratings" --ratio 0.2 --k 4 --history-k 1 --threads 1 \
    | tee "$out/pytorch-history.jsonl" >&2
echo "== bloom: $bin" >&2
"$bin" --data "$ratings" --split numpy --methods full,bloom,freq-bloom,small-dim,bloom-history --ratios 0.2 --k 4 \
    --hashes murmur3_32 --threads 1 --quiet --out "$out/bloom" >&2

"$py" - "$out/pytorch.jsonl" "$out/bloom.json" "$out/pytorch-history.jsonl" <<'PY'
import json, sys
peer = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ours = json.load(open(sys.argv[2]))["results"]
hist_ref = next((json.loads(l) for l in open(sys.argv[3]) if l.strip()), None)
ref = {(r["ratio"] >= 1.0): r for r in peer}
full_ref, bloom_ref = ref.get(True), ref.get(False)
full_ours = next(r for r in ours if r["method"] == "full")
print(f"{'run':34} {'s/epoch':>9} {'MRR':>7} {'P@10':>7} {'MRR share':>9} {'speed-up':>9}")
def line(name, r, sec, base_sec, share):
    # sec is None for bloom-compare's popularity row: nothing trained, no seconds
    print(f"{name:34} " + (f"{sec:9.4f}" if sec is not None else f"{'-':>9}")
          + f" {r['mrr']:7.4f} {r['p10']:7.4f} {share:9.0%} "
          + (f"{base_sec / sec:8.1f}x" if base_sec and sec else f"{'':>9}"))
if full_ref:
    line("pytorch full", full_ref, full_ref["epoch_s"], None, 1.0)
if bloom_ref:
    line(f"pytorch bloom r={bloom_ref['ratio']} k=4", bloom_ref, bloom_ref["epoch_s"], None,
         bloom_ref["mrr"] / full_ref["mrr"] if full_ref else float("nan"))
if hist_ref:
    line(f"pytorch bloom-history r={hist_ref['ratio']} k={hist_ref['history_k']}|{hist_ref['k']}",
         hist_ref, hist_ref["epoch_s"], None,
         hist_ref["mrr"] / full_ref["mrr"] if full_ref else float("nan"))
for r in ours:
    if r["method"] == "popularity":
        line("bloom popularity (the floor)", r, None, None, r["mrr"] / full_ours["mrr"])
        continue
    base = (full_ref if r["method"] in ("full", "small-dim") else
            hist_ref if r["method"] == "bloom-history" else bloom_ref)
    k = f"{r['history_k']}|{r['k']}" if r.get("history_k") else f"{r['k']}"
    line(f"bloom {r['method']} r={r['ratio']} k={k}", r, r["sec_per_epoch"],
         base["epoch_s"] if base else None, r["mrr"] / full_ours["mrr"])
PY
