#!/usr/bin/env bash
# Side-by-side run of bloom-paper (the paper's network: Bloom-coded input half -> MLP -> m Bloom
# outputs -> item scores by the sum of log p) and its PyTorch reference
# (../shared/peers/torch_bloom_mlp.py) on the same ratings file and the same split, in one
# invocation. The two are run alternately, torch, bloom, torch, bloom, ..., N times each, so that
# whatever load the machine carries falls on both; per m/d the script reports the median seconds
# per training epoch of each side, their ratio (torch / bloom) and P@10 and MRR of both, with
# bloom-paper's popularity ranking as the floor.
#
#   scripts/compare-network-pytorch.sh [--runs N] [--bin PATH] [--out CSV] [--work DIR]
#                                      [--ratios LIST] [RATINGS]
#
#   RATINGS       ratings file (default ../shared/data/ml-100k/u.data, next to the repository)
#   --runs N      runs of each side (default 3)
#   --bin PATH    bloom-paper (default build/release/examples/bloom-paper; ./run.sh demo builds it)
#   --out CSV     summary table (default build/compare-network-pytorch/network-pytorch.csv), columns
#                 ratio,m,torch_epoch_s,bloom_epoch_s,speedup,torch_p10,bloom_p10,torch_mrr,
#                 bloom_mrr,runs; the last row, ratio "popularity", is the floor (bloom columns only)
#   --work DIR    every run's raw output (default build/compare-network-pytorch)
#   --ratios LIST m/d values, comma-separated (default 1.0,0.5,0.2,0.1,0.05; 1 is the uncompressed
#                 network, k = 1 and the identity code)
#
# Settings on both sides: the reference's defaults (1 hidden ReLU layer of 256, softmax output,
# Adam lr 1e-3, batch 128, 10 epochs, seed 42, fixed halves), k = 4 MurmurHash3 functions, the
# reference's NumPy split (bloom-paper --split numpy reproduces it bit for bit), one thread each
# (OMP/MKL/OpenBLAS thread counts set to 1 as well). MRR is 1/rank of the best-ranked target item
# on both sides. Needs Debian's python3 with python3-torch, python3-numpy and python3-sklearn
# (PYTHON overrides /usr/bin/python3; BLOOM_PEER the reference script's path).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=compare-network-pytorch
invocation="$0${*:+ $*}"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "$name: $*" >&2; exit 2; }

runs=3
bin=$here/build/release/examples/bloom-paper
work=$here/build/$name
out=
ratios=1.0,0.5,0.2,0.1,0.05
ratings=
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --runs|--bin|--out|--work|--ratios)
            [ $# -ge 2 ] || die "$1 needs a value"
            opt=${1#--}; val=$2; shift 2 ;;
        --runs=*|--bin=*|--out=*|--work=*|--ratios=*)
            opt=${1%%=*}; opt=${opt#--}; val=${1#*=}; shift ;;
        --) shift; [ $# -le 1 ] || die "one ratings file at most"; ratings=${1:-$ratings}; break ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) [ -z "$ratings" ] || die "one ratings file at most, got $ratings and $1"
           ratings=$1; shift; continue ;;
    esac
    case "$opt" in
        runs) runs=$val ;;
        bin) bin=$val ;;
        out) out=$val ;;
        work) work=$val ;;
        ratios) ratios=$val ;;
    esac
done
ratings=${ratings:-$here/../shared/data/ml-100k/u.data}
out=${out:-$work/network-pytorch.csv}
peer=${BLOOM_PEER:-$here/../shared/peers/torch_bloom_mlp.py}
# Debian's interpreter, where python3-torch lives (a python3 earlier on PATH may lack torch).
py=${PYTHON:-/usr/bin/python3}

[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs takes a count >= 1, got '$runs'"
[[ "$ratios" =~ ^[0-9.]+(,[0-9.]+)*$ ]] || die "--ratios takes comma-separated m/d values, got '$ratios'"
[ -f "$ratings" ] || die "no ratings file at $ratings (pass one, e.g. data/ml-100k/u.data from 'scripts/fetch-movielens.sh 100k')"
[ -f "$peer" ] || die "no reference script at $peer (set BLOOM_PEER)"
[ -x "$py" ] || die "no python at $py (Debian's python3 with python3-torch; set PYTHON)"
[ -x "$bin" ] || die "no bloom-paper at $bin: build it with './run.sh demo --help' (a Release build in build/release) or pass --bin PATH"
mkdir -p "$work" "$(dirname "$out")"
rm -f "$work"/torch-*.jsonl "$work"/bloom-*.csv "$work"/bloom-*.json

# One training thread each, and no helper thread pools either side.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

fail() {  # what log
    echo "$name: $1 failed; the end of $2:" >&2
    tail -n 20 "$2" >&2
    exit 1
}
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
for i in $(seq 1 "$runs"); do
    echo "== run $i/$runs: PyTorch reference" >&2
    "$py" "$peer" "$ratings" --ratios "$ratios" --k 4 --threads 1 \
        >"$work/torch-$i.jsonl" 2>"$work/torch-$i.log" || fail "the reference (run $i)" "$work/torch-$i.log"
    echo "== run $i/$runs: bloom-paper" >&2
    "$bin" --data "$ratings" --split numpy --reference --methods bloom --hashes murmur3_32 --k 4 \
        --ratios "$ratios" --threads 1 --quiet --out "$work/bloom-$i" \
        >"$work/bloom-$i.log" 2>&1 || fail "bloom-paper (run $i)" "$work/bloom-$i.log"
done
load1=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')

echo "command: $invocation"
echo "date: $started; commit $commit; nproc $(nproc 2>/dev/null || echo '?'), load average $load0 before, $load1 after"
echo "data: $ratings; $runs runs each, interleaved; bloom-paper: $bin"
"$py" - "$work" "$runs" "$ratios" "$out" <<'PY'
import csv, json, os, statistics, sys

work, runs, out = sys.argv[1], int(sys.argv[2]), sys.argv[4]
ratios = [float(r) for r in sys.argv[3].split(",")]
key = lambda r: round(float(r), 6)
med = statistics.median

torch_runs, bloom_runs, pop_runs, notes = [], [], [], []
for i in range(1, runs + 1):
    with open(os.path.join(work, f"torch-{i}.jsonl")) as f:
        lines = [json.loads(l) for l in f if l.strip().startswith("{")]
    torch_runs.append({key(l["ratio"]): l for l in lines})
    with open(os.path.join(work, f"bloom-{i}.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    ours = {}
    for r in rows:
        if r["method"] == "popularity":
            pop_runs.append(r)
        elif r["method"] == "identity" or (r["method"] == "bloom" and r.get("trained", "1") == "1"):
            ours[key(r["ratio"])] = r
    bloom_runs.append(ours)
    if i == 1:  # both sides must have cut the same users into the same halves
        with open(os.path.join(work, f"bloom-{i}.json")) as f:
            ours_train = json.load(f).get("train_users")
        theirs_train = {l.get("n_train_users") for l in lines}
        if ours_train is not None and theirs_train and theirs_train != {ours_train}:
            notes.append(f"training users differ: torch {sorted(theirs_train)}, bloom {ours_train}")

def column(runs_, r, field, label):
    vals = []
    for n, by_ratio in enumerate(runs_, 1):
        if r not in by_ratio:
            sys.exit(f"compare-network-pytorch: {label} run {n} has no row for m/d = {r}")
        vals.append(float(by_ratio[r][field]))
    return vals

def spread(vals):
    return f"[{min(vals):.4f}-{max(vals):.4f}]" if len(vals) > 1 else ""

table = []
for ratio in ratios:
    r = key(ratio)
    t_s, b_s = column(torch_runs, r, "epoch_s", "torch"), column(bloom_runs, r, "sec_per_epoch", "bloom")
    t_p, b_p = column(torch_runs, r, "p10", "torch"), column(bloom_runs, r, "p10", "bloom")
    t_r, b_r = column(torch_runs, r, "mrr", "torch"), column(bloom_runs, r, "mrr", "bloom")
    m_t = {int(tr[r]["m"]) for tr in torch_runs}
    m_b = {int(br[r]["m_out"]) for br in bloom_runs}
    if m_t != m_b:
        notes.append(f"m/d = {ratio}: m differs, torch {sorted(m_t)}, bloom {sorted(m_b)}")
    for side, vals in (("torch P@10", t_p), ("bloom P@10", b_p), ("torch MRR", t_r), ("bloom MRR", b_r)):
        if max(vals) - min(vals) > 1e-9:
            notes.append(f"m/d = {ratio}: {side} varies across runs {spread(vals)} (median shown)")
    table.append(dict(ratio=ratio, m=min(m_b), t_s=med(t_s), b_s=med(b_s), t_sr=spread(t_s),
                      b_sr=spread(b_s), t_p=med(t_p), b_p=med(b_p), t_r=med(t_r), b_r=med(b_r)))
pop_p = med(float(p["p10"]) for p in pop_runs) if pop_runs else None
pop_r = med(float(p["mrr"]) for p in pop_runs) if pop_runs else None

w = 22 if runs > 1 else 10
print(f"\n{'m/d':>5} {'m':>6} {'torch s/epoch':>{w}} {'bloom s/epoch':>{w}} {'torch/bloom':>11} "
      f"{'torch P@10':>10} {'bloom P@10':>10} {'torch MRR':>9} {'bloom MRR':>9}")
for x in table:
    t = f"{x['t_s']:.4f} {x['t_sr']}".strip()
    b = f"{x['b_s']:.4f} {x['b_sr']}".strip()
    sp = f"{x['t_s'] / x['b_s']:.1f}x" if x["b_s"] > 0 else "-"
    print(f"{x['ratio']:>5g} {x['m']:>6} {t:>{w}} {b:>{w}} {sp:>11} "
          f"{x['t_p']:>10.4f} {x['b_p']:>10.4f} {x['t_r']:>9.4f} {x['b_r']:>9.4f}")
if pop_p is not None:
    print(f"{'popularity (bloom-paper)':<{13 + 2 * w + 1}} {'':>11} {'':>10} {pop_p:>10.4f} "
          f"{'':>9} {pop_r:>9.4f}")
print(f"\nseconds per epoch: median of {runs} run(s)" + (" [min-max]" if runs > 1 else "")
      + "; torch/bloom: ratio of the medians; P@10, MRR (1/rank of the best target item): "
      "median over runs")
for n in notes:
    print(f"note: {n}")

with open(out, "w", newline="") as f:
    wr = csv.writer(f, lineterminator="\n")
    wr.writerow(["ratio", "m", "torch_epoch_s", "bloom_epoch_s", "speedup", "torch_p10", "bloom_p10",
                 "torch_mrr", "bloom_mrr", "runs"])
    for x in table:
        wr.writerow([f"{x['ratio']:g}", x["m"], f"{x['t_s']:.5f}", f"{x['b_s']:.5f}",
                     f"{x['t_s'] / x['b_s']:.3f}" if x["b_s"] > 0 else "",
                     f"{x['t_p']:.5f}", f"{x['b_p']:.5f}", f"{x['t_r']:.5f}", f"{x['b_r']:.5f}", runs])
    if pop_p is not None:
        wr.writerow(["popularity", "", "", "", "", "", f"{pop_p:.5f}", "", f"{pop_r:.5f}", runs])
print(f"wrote {out}")
PY
