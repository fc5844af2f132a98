#!/usr/bin/env bash
# Side-by-side run of bloom and plain PyTorch (scripts/torch_kinds.py) for each embedding kind, on
# the same ratings file with the same hyperparameters, in one invocation: for every kind, the
# PyTorch reference and then bloom-compare, one right after the other, so that the speed ratio is
# measured on the same machine at the same time.
#
#   scripts/compare-kinds-pytorch.sh [RATINGS] [OUT_DIR]
#
# Defaults: ../shared/data/ml-100k/u.data and build/compare-kinds-pytorch/. Environment: KINDS
# (default full,robe,mixed-dim,cce,dhe,tt), RATIO (default 0.2: each kind's parameter budget as a
# share of the full table's n x dim scalars, users and items both compressed), BLOOM_COMPARE (the
# binary, default build/release/examples/bloom-compare), PYTHON (default /usr/bin/python3).
# Settings on both sides: dim 32, batch 256, BPR, Adam lr 1e-2, L2 1e-6, 10 epochs, NumPy's
# 80/20 split (bloom-compare --split numpy), one training thread. A kind this bloom-compare does
# not know is reported as "not in this build" (its PyTorch side still runs) and is not an error.
# Needs Debian's python3-torch, python3-numpy and python3-sklearn and a Release build of
# bloom-compare (./run.sh demo builds one).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ratings=${1:-$here/../shared/data/ml-100k/u.data}
out=${2:-$here/build/compare-kinds-pytorch}
bin=${BLOOM_COMPARE:-$here/build/release/examples/bloom-compare}
ref=$here/scripts/torch_kinds.py
kinds=${KINDS:-full,robe,mixed-dim,cce,dhe,tt}
ratio=${RATIO:-0.2}
# Debian's interpreter, where python3-torch lives (a python3 earlier on PATH may lack torch).
py=${PYTHON:-/usr/bin/python3}

[ -f "$ratings" ] || { echo "compare-kinds-pytorch: no ratings file at $ratings" >&2; exit 2; }
[ -x "$bin" ] || { echo "compare-kinds-pytorch: build bloom-compare first (./run.sh demo)" >&2; exit 2; }
mkdir -p "$out"

# The methods this build knows: bloom-compare names them all when it rejects an unknown one
# (it checks --methods before it reads any data).
known=$({ "$bin" --methods __list__ 2>&1 || true; } | sed -n "s/.*unknown method '__list__' (\(.*\)).*/\1/p" | tr -d ' ')
[ -n "$known" ] || { echo "compare-kinds-pytorch: cannot read the methods of $bin" >&2; exit 2; }

rm -f "$out"/pytorch.jsonl "$out"/bloom-*.json
IFS=, read -r -a list <<<"$kinds"
for kind in "${list[@]}"; do
    echo "== $kind: PyTorch ($ref)" >&2
    "$py" "$ref" "$ratings" --kind "$kind" --ratio "$ratio" --threads 1 | tee -a "$out/pytorch.jsonl" >&2
    if [[ ",$known," == *",$kind,"* ]]; then
        echo "== $kind: bloom ($bin)" >&2
        "$bin" --data "$ratings" --split numpy --methods "$kind" --ratios "$ratio" \
            --hashes murmur3_32 --threads 1 --quiet --out "$out/bloom-$kind" >&2
    else
        echo "== $kind: not in this build of bloom-compare (it knows $known)" >&2
    fi
done

"$py" - "$out" "$kinds" <<'PY'
import json, os, sys
out, kinds = sys.argv[1], sys.argv[2].split(",")
ref = {r["kind"]: r for r in (json.loads(l) for l in open(os.path.join(out, "pytorch.jsonl")) if l.strip())}
print(f"{'kind':10} {'ratio':>5} {'s/epoch bloom':>13} {'s/epoch torch':>13} {'speed-up':>8} "
      f"{'MRR bloom':>9} {'MRR torch':>9} {'AUC bloom':>9} {'AUC torch':>9} "
      f"{'params bloom':>12} {'params torch':>12}")
for kind in kinds:
    t = ref.get(kind)
    path = os.path.join(out, f"bloom-{kind}.json")
    b = None
    if os.path.exists(path):
        b = next((r for r in json.load(open(path))["results"] if r["method"] == kind), None)
    def col(v, fmt, w):
        return f"{'-' if v is None else format(v, fmt):>{w}}"
    bs = b["sec_per_epoch"] if b else None
    ts = t["epoch_s"] if t else None
    print(f"{kind:10} " + col(t["ratio"] if t else None, ".2f", 5) + " "
          + (col(bs, ".4f", 13) if b else f"{'not in this build':>17}"[-17:]) + " "
          + col(ts, ".4f", 13 if b else 9) + " "
          + (f"{ts / bs:7.1f}x" if b and t else f"{'-':>8}") + " "
          + col(b["mrr"] if b else None, ".4f", 9) + " " + col(t["mrr"] if t else None, ".4f", 9) + " "
          + col(b["auc"] if b else None, ".4f", 9) + " " + col(t["auc"] if t else None, ".4f", 9) + " "
          + col(b["params"] if b else None, "d", 12) + " " + col(t["params"] if t else None, "d", 12))
PY
