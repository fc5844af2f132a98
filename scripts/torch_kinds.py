#!/usr/bin/env python3
"""The compressed embedding kinds in plain PyTorch, for a side-by-side run with bloom-compare
(scripts/compare-kinds-pytorch.sh runs both on the same ratings file).

The model and its training are those of ../shared/peers/torch_mf.py and
scripts/torch_history_mf.py: a user.item factorization with full bias tables, uniform negatives,
BPR loss 1 - sigmoid(pos - neg), dense Adam with weight decay, batch 256, dim 32, lr 1e-2 (the kind's own weights 1e-3 for dhe and tt, as bloom-compare's --dhe-lr and --tt-lr; --kind-lr), L2 1e-6,
10 epochs, the 80/20 split of np.random.RandomState(seed).permutation (what
`bloom-compare --split numpy` reproduces). Only the two embedding tables change with --kind; each
kind is an nn.Module written as a PyTorch user writes it (nn.Embedding, nn.Linear, indexing,
torch.einsum), and both sides (users and items) are compressed unless --compress says otherwise.

The budget rule is bloom-compare's: a compressed side of n ids may hold floor(ratio x n x dim)
learned scalars (the biases are full tables and not counted). Per kind:

  full       nn.Embedding(n, dim), N(0, 1/dim); --ratio is ignored.
  robe       ROBE (Desai, Chou & Shrivastava, MLSys 2022), as bloom's robe.hpp and bloom-compare:
             one shared array of max(dim, floor(ratio n dim)) scalars, N(0, 1/dim); an id reads one
             block of dim consecutive scalars starting at h(id) mod size, wrapping at the end.
  mixed-dim  Mixed dimensions (Ginart et al. 2019/2021), as bloom's mixed_dim.hpp: ids sorted by
             training count (most frequent first, ties lower id first), --buckets 4 buckets of
             ceil(n/4) ids; bucket b has dim d_b = max(1, round(d0 / 2^b)) (round half up), d0 <= dim
             the largest whose tables plus projections fit the budget; a bucket with d_b < dim has
             a projection P_b (d_b x dim, N(0, 1/sqrt(d_b))), tables N(0, 1/dim).
  cce        Clustered Compositional Embeddings (Tsang & Ahle, NeurIPS 2023): the vector is cut into
             --cce-chunks 4 chunks of dim/4; chunk c of id i is T0[h0_c(i), c] + T1[h1_c(i), c],
             two tables of rows x dim scalars with rows = floor(budget / (2 dim)) (the paper's
             rule), N(0, 1/dim). Clustering after each of the first --cce-clusterings 7 epochs (of
             10; the paper's MovieLens schedule): per chunk, k-means (sklearn KMeans, rows
             clusters, k-means++, 1 init, at most 100 Lloyd iterations) of the n current chunk
             vectors; h0_c becomes the assignment, T0 the centroids, h1_c a fresh hash (new seed)
             and T1 the mean residual of the ids in each new row (0 in an empty row). The Adam
             state is kept. Its seconds count in the epoch's.
  dhe        Deep Hash Embedding (Kang et al., KDD 2021): k hash values of the id, each
             murmur3 mod 10^6 mapped to uniform [-1, 1], into an MLP of --dhe-layers 2 hidden
             layers of width w, each Linear -> BatchNorm1d -> Mish (the paper's choices), and a
             linear output of dim; no table. k = w (the encoding as wide as the hidden layers) and
             w the largest whose MLP (weights, biases, batch norm's scales and shifts) fits the
             budget. nn.Linear's default init. The encodings of all ids are computed once (a
             buffer, not parameters); evaluation uses batch norm's running statistics. At the
             shared lr 1e-2 this MLP's outputs grow until the BPR loss saturates and it learns
             little (ML-100K, 3 epochs: AUC 0.64 against 0.82 at --lr 1e-3); without batch norm
             it does not learn at all (AUC 0.50).
  tt         TT-Rec (Yin et al., MLSys 2021): the n x dim table as a tensor train of 3 cores;
             ids factor as n1 x n2 x n3 with n_j = ceil(n^(1/3)) (n3 = ceil(n / (n1 n2))), dim as
             --tt-dims 2,4,4; cores G1 (n1, d1, R), G2 (n2, R, d2, R), G3 (n3, R, d3); the TT rank R
             the largest with n1 d1 R + n2 d2 R^2 + n3 d3 R within the budget. Every core
             N(0, (1/(dim R))^(1/3)), so that an entry has the full table's std 1/dim.
             id -> (id // (n2 n3), id // n3 mod n2, id mod n3).

The hash functions are sklearn's murmurhash3_32 with this script's own seeds, so rows differ from
bloom's: the comparison is of the model and its cost, not of bit-identical runs.

Evaluation as bloom's (docs/evaluation.md): per test user, every item scored, the user's
training items excluded (-inf); MRR the mean over the user's test items of 1/rank (ties by item
id), P@10 and R@10; AUC the per-user Wilcoxon-Mann-Whitney statistic over the negatives (items
neither test nor training items of the user), ties 1/2, a user without negatives 1 (LightFM's
auc_score); each the mean over the test users.

Usage: torch_kinds.py RATINGS [--kind full|robe|mixed-dim|cce|dhe|tt[,...]] [--ratio 0.2]
         [--compress users,items] [--epochs 10] [--dim 32] [--batch 256] [--lr 1e-2] [--l2 1e-6]
         [--seed 42] [--threads 1] [--buckets 4] [--cce-chunks 4] [--cce-clusterings 7]
         [--dhe-layers 2] [--tt-dims 2,4,4]
Prints one JSON line per kind (several kinds run one after the other, each from the same seed, as
if alone). Needs Debian's python3-torch, python3-numpy and python3-sklearn.
"""
import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
from sklearn.cluster import KMeans
from sklearn.utils import murmurhash3_32

from torch_common import read_pairs

KINDS = ["full", "robe", "mixed-dim", "cce", "dhe", "tt"]
# Seeds of the hash functions: a side's kind draws from SEED_BASE + side (0 users, 1 items).
SEED_BASE = 0x5BD1E995
DHE_RANGE = 1_000_000


def murmur(ids, seed, mod):
    return murmurhash3_32(ids.astype(np.int32), seed=int(seed), positive=True).astype(np.int64) % mod


def budget_of(n, ratio, dim):
    return int(ratio * n * dim)


class Full(nn.Module):
    def __init__(self, n, dim):
        super().__init__()
        self.emb = nn.Embedding(n, dim)
        nn.init.normal_(self.emb.weight, 0, 1.0 / dim)
        self.settings = f"table {n} x {dim}"

    def forward(self, ids):
        return self.emb(ids)


class Robe(nn.Module):
    def __init__(self, n, dim, budget, seeds):
        super().__init__()
        size = max(dim, budget)
        self.array = nn.Parameter(torch.empty(size).normal_(0, 1.0 / dim))
        start = murmur(np.arange(n), next(seeds), size)
        self.register_buffer("idx", torch.from_numpy((start[:, None] + np.arange(dim)) % size))
        self.settings = f"array {size}, one block of {dim}"

    def forward(self, ids):
        return self.array[self.idx[ids]]


def round_half_up(x):
    return int(math.floor(x + 0.5))


class MixedDim(nn.Module):
    def __init__(self, n, dim, budget, counts, buckets):
        super().__init__()
        nb = min(buckets, n)
        per = (n + nb - 1) // nb
        sizes = [min(per, n - s) for s in range(0, n, per)]

        def cost(dims):
            return sum(s * d + (0 if d == dim else d * dim) for s, d in zip(sizes, dims))

        dims = None
        for d0 in range(dim, 0, -1):
            cand = [max(1, round_half_up(d0 / 2 ** b)) for b in range(len(sizes))]
            if cost(cand) <= budget:
                dims = cand
                break
        if dims is None:
            raise SystemExit(f"mixed-dim: a budget of {budget} scalars cannot hold dimension 1 in "
                             f"each of the {len(sizes)} buckets")
        order = np.argsort(-np.asarray(counts), kind="stable")
        bucket, row = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        bucket[order] = np.arange(n) // per
        row[order] = np.arange(n) % per
        self.register_buffer("bucket", torch.from_numpy(bucket))
        self.register_buffer("row", torch.from_numpy(row))
        self.dim = dim
        self.tables = nn.ModuleList()
        self.projs = nn.ModuleList()
        for s, d in zip(sizes, dims):
            t = nn.Embedding(s, d)
            nn.init.normal_(t.weight, 0, 1.0 / dim)
            self.tables.append(t)
            p = nn.Linear(d, dim, bias=False) if d != dim else nn.Identity()
            if d != dim:
                nn.init.normal_(p.weight, 0, 1.0 / math.sqrt(d))
            self.projs.append(p)
        self.settings = f"{len(sizes)} buckets of {per} ids, dims {'/'.join(map(str, dims))}"

    def forward(self, ids):
        out = torch.zeros(len(ids), self.dim)
        b = self.bucket[ids]
        r = self.row[ids]
        for k, (t, p) in enumerate(zip(self.tables, self.projs)):
            mask = b == k
            if mask.any():
                out[mask] = p(t(r[mask]))
        return out


class CCE(nn.Module):
    def __init__(self, n, dim, budget, chunks, seeds, seed):
        super().__init__()
        if dim % chunks:
            raise SystemExit(f"cce: dim {dim} is not a multiple of --cce-chunks {chunks}")
        rows = budget // (2 * dim)
        if rows < 1:
            raise SystemExit(f"cce: a budget of {budget} scalars holds no row of 2 x {dim}")
        self.n, self.rows, self.chunks, self.width = n, rows, chunks, dim // chunks
        self.seeds, self.seed = seeds, seed
        self.t0 = nn.Parameter(torch.empty(rows, chunks, self.width).normal_(0, 1.0 / dim))
        self.t1 = nn.Parameter(torch.empty(rows, chunks, self.width).normal_(0, 1.0 / dim))
        ids = np.arange(n)
        h0 = np.stack([murmur(ids, next(seeds), rows) for _ in range(chunks)], 1)
        h1 = np.stack([murmur(ids, next(seeds), rows) for _ in range(chunks)], 1)
        self.register_buffer("h0", torch.from_numpy(h0))
        self.register_buffer("h1", torch.from_numpy(h1))
        self.register_buffer("cols", torch.arange(chunks))
        self.clusterings = 0
        self.settings = f"{chunks} chunks of {self.width}, 2 tables of {rows} rows"

    def forward(self, ids):
        return (self.t0[self.h0[ids], self.cols] + self.t1[self.h1[ids], self.cols]).flatten(1)

    @torch.no_grad()
    def cluster(self):
        ids = np.arange(self.n)
        k = min(self.rows, self.n)
        for c in range(self.chunks):
            vecs = (self.t0[self.h0[:, c], c] + self.t1[self.h1[:, c], c]).numpy()
            km = KMeans(n_clusters=k, n_init=1, max_iter=100,
                        random_state=self.seed + 1000 * self.clusterings + c).fit(vecs)
            centroids = torch.from_numpy(km.cluster_centers_.astype(np.float32))
            assign = torch.from_numpy(km.labels_.astype(np.int64))
            resid = torch.from_numpy(vecs) - centroids[assign]
            h1 = torch.from_numpy(murmur(ids, next(self.seeds), self.rows))
            sums = torch.zeros(self.rows, self.width).index_add_(0, h1, resid)
            counts = torch.bincount(h1, minlength=self.rows).clamp(min=1).float()
            self.h0[:, c] = assign
            self.t0[:k, c] = centroids
            self.h1[:, c] = h1
            self.t1[:, c] = sums / counts[:, None]
        self.clusterings += 1


class DHE(nn.Module):
    def __init__(self, n, dim, budget, layers, seeds):
        super().__init__()

        def cost(w):  # k = w inputs, `layers` hidden layers of w (weights, biases, batch norm's
            # scale and shift), dim outputs with biases
            return layers * (w * w + 3 * w) + w * dim + dim

        w = 0
        while cost(w + 1) <= budget:
            w += 1
        if w == 0:
            raise SystemExit(f"dhe: a budget of {budget} scalars holds no MLP of width 1")
        ids = np.arange(n)
        enc = np.stack([murmur(ids, next(seeds), DHE_RANGE) for _ in range(w)], 1)
        enc = enc / (DHE_RANGE - 1) * 2.0 - 1.0  # uniform on [-1, 1]
        self.register_buffer("enc", torch.from_numpy(enc.astype(np.float32)))
        mods = []
        for _ in range(layers):
            mods += [nn.Linear(w, w), nn.BatchNorm1d(w), nn.Mish()]
        mods.append(nn.Linear(w, dim))
        self.mlp = nn.Sequential(*mods)
        self.settings = f"k {w} hashes mod {DHE_RANGE}, {layers} hidden layers of {w}, BN, Mish"

    def forward(self, ids):
        return self.mlp(self.enc[ids])


class TT(nn.Module):
    def __init__(self, n, dim, budget, dims):
        super().__init__()
        d1, d2, d3 = dims
        if d1 * d2 * d3 != dim:
            raise SystemExit(f"tt: --tt-dims {d1},{d2},{d3} do not multiply to dim {dim}")
        n1 = n2 = int(math.ceil(n ** (1.0 / 3.0) - 1e-9))
        n3 = -(-n // (n1 * n2))
        R = 0
        while n1 * d1 * (R + 1) + n2 * d2 * (R + 1) ** 2 + n3 * d3 * (R + 1) <= budget:
            R += 1
        if R == 0:
            raise SystemExit(f"tt: a budget of {budget} scalars holds no rank-1 train")
        s = (1.0 / (dim * R)) ** (1.0 / 3.0)
        self.g1 = nn.Parameter(torch.empty(n1, d1, R).normal_(0, s))
        self.g2 = nn.Parameter(torch.empty(n2, R, d2, R).normal_(0, s))
        self.g3 = nn.Parameter(torch.empty(n3, R, d3).normal_(0, s))
        self.n2, self.n3, self.dim = n2, n3, dim
        self.settings = f"ids {n1}x{n2}x{n3}, dims {d1}x{d2}x{d3}, rank {R}"

    def forward(self, ids):
        i1, i2, i3 = ids // (self.n2 * self.n3), (ids // self.n3) % self.n2, ids % self.n3
        v = torch.einsum("bxr,brys,bsz->bxyz", self.g1[i1], self.g2[i2], self.g3[i3])
        return v.reshape(len(ids), self.dim)


class Model(nn.Module):
    def __init__(self, users, items, n_users, n_items):
        super().__init__()
        self.users, self.items = users, items
        self.user_bias, self.item_bias = nn.Embedding(n_users, 1), nn.Embedding(n_items, 1)
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)


def make_side(kind, n, a, counts, side):
    seeds = iter(range(SEED_BASE + 7919 * side, SEED_BASE + 7919 * side + 7919))
    budget = budget_of(n, a.ratio, a.dim)
    if kind == "full":
        return Full(n, a.dim)
    if kind == "robe":
        return Robe(n, a.dim, budget, seeds)
    if kind == "mixed-dim":
        return MixedDim(n, a.dim, budget, counts, a.buckets)
    if kind == "cce":
        return CCE(n, a.dim, budget, a.cce_chunks, seeds, a.seed + side)
    if kind == "dhe":
        return DHE(n, a.dim, budget, a.dhe_layers, seeds)
    if kind == "tt":
        return TT(n, a.dim, budget, [int(x) for x in a.tt_dims.split(",")])
    raise SystemExit(f"torch_kinds: unknown kind '{kind}' ({', '.join(KINDS)})")


def evaluate(model, train_u, train_i, test_u, test_i, n_users, n_items, cut=10):
    seen, held = {}, {}
    for a, b in zip(train_u, train_i):
        seen.setdefault(a, []).append(b)
    for a, b in zip(test_u, test_i):
        held.setdefault(a, []).append(b)
    mrr = prec = rec = auc = 0.0
    with torch.no_grad():
        scores = (model.users(torch.arange(n_users)) @ model.items(torch.arange(n_items)).T
                  + model.user_bias.weight + model.item_bias.weight.T).numpy()
    for user, pos in held.items():
        s = scores[user].copy()
        train = seen.get(user, [])
        s[train] = -np.inf
        order = np.argsort(-s, kind="stable")
        rank = np.empty(n_items, dtype=np.int64)
        rank[order] = np.arange(1, n_items + 1)
        mrr += np.mean(1.0 / rank[pos])
        hits = np.isin(order[:cut], pos).sum()
        prec += hits / cut
        rec += hits / len(pos)
        tests = np.unique(pos)
        negative = np.ones(n_items, dtype=bool)
        negative[tests] = False
        negative[train] = False
        neg = np.sort(s[negative])
        if len(neg) == 0:
            auc += 1.0
        else:
            below = np.searchsorted(neg, s[tests], side="left")
            tied = np.searchsorted(neg, s[tests], side="right") - below
            auc += (below + 0.5 * tied).sum() / (len(tests) * len(neg))
    n = len(held)
    return mrr / n, auc / n, prec / n, rec / n


def run(kind, users, items, n_users, n_items, a):
    rng = np.random.RandomState(a.seed)
    perm = rng.permutation(len(users))
    cut = int(0.8 * len(users))
    tr, te = perm[:cut], perm[cut:]
    torch.manual_seed(a.seed)
    user_counts = np.bincount(users[tr], minlength=n_users)
    item_counts = np.bincount(items[tr], minlength=n_items)
    sides = [make_side(kind if ("users" in a.compress or kind == "full") else "full",
                       n_users, a, user_counts, 0),
             make_side(kind if ("items" in a.compress or kind == "full") else "full",
                       n_items, a, item_counts, 1)]
    model = Model(sides[0], sides[1], n_users, n_items)
    # bloom-compare trains dhe's network and tt's cores at their own rate (--dhe-lr, --tt-lr:
    # 1e-3), the biases at --lr; --kind-lr does the same here (default: --lr for every kind but
    # dhe and tt, 1e-3 for those two, as bloom-compare).
    kind_lr = a.kind_lr if a.kind_lr is not None else (1e-3 if kind in ("dhe", "tt") else a.lr)
    biases = list(model.user_bias.parameters()) + list(model.item_bias.parameters())
    bias_ids = {id(p) for p in biases}
    rest = [p for p in model.parameters() if id(p) not in bias_ids]
    opt = torch.optim.Adam([{"params": rest, "lr": kind_lr}, {"params": biases, "lr": a.lr}],
                           lr=a.lr, weight_decay=a.l2)
    cluster_s = 0.0
    model.train()
    t0 = time.perf_counter()
    for epoch in range(a.epochs):
        order = rng.permutation(len(tr))
        bu_all, bi_all = torch.from_numpy(users[tr][order]), torch.from_numpy(items[tr][order])
        for b in range(0, len(tr), a.batch):
            bu, bi = bu_all[b:b + a.batch], bi_all[b:b + a.batch]
            neg = torch.from_numpy(rng.randint(0, n_items, len(bu)))
            eu = model.users(bu)
            ei = model.items(torch.cat([bi, neg]))
            ib = model.item_bias(torch.cat([bi, neg])).squeeze(1)
            ub = model.user_bias(bu).squeeze(1)
            pos_s = (eu * ei[:len(bu)]).sum(1) + ub + ib[:len(bu)]
            neg_s = (eu * ei[len(bu):]).sum(1) + ub + ib[len(bu):]
            loss = (1.0 - torch.sigmoid(pos_s - neg_s)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if kind == "cce" and epoch < a.cce_clusterings:
            c0 = time.perf_counter()
            for side in sides:
                if isinstance(side, CCE):
                    side.cluster()
            cluster_s += time.perf_counter() - c0
    fit = time.perf_counter() - t0
    model.eval()
    mrr, auc, p10, r10 = evaluate(model, users[tr], items[tr], users[te], items[te],
                                  n_users, n_items)
    params = [sum(p.numel() for p in s.parameters()) for s in sides]
    budgets = [n_users * a.dim if kind == "full" else budget_of(n_users, a.ratio, a.dim),
               n_items * a.dim if kind == "full" else budget_of(n_items, a.ratio, a.dim)]
    out = dict(peer="pytorch", model="mf", kind=kind, ratio=1.0 if kind == "full" else a.ratio,
               compress=a.compress, dim=a.dim, batch=a.batch, epochs=a.epochs, users=n_users,
               items=n_items, n_train=len(tr), params=sum(params), params_users=params[0],
               params_items=params[1], budget_users=budgets[0], budget_items=budgets[1],
               settings_users=sides[0].settings, settings_items=sides[1].settings,
               fit_s=round(fit, 3), epoch_s=round(fit / a.epochs, 4), mrr=round(mrr, 5),
               auc=round(auc, 5), p10=round(p10, 5), r10=round(r10, 5))
    if kind == "cce":
        out["cluster_s"] = round(cluster_s, 3)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ratings")
    ap.add_argument("--kind", default="full", help="one or more of " + ", ".join(KINDS))
    ap.add_argument("--ratio", type=float, default=0.2)
    ap.add_argument("--compress", default="users,items")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--l2", type=float, default=1e-6)
    ap.add_argument("--kind-lr", type=float, default=None,
                    help="learning rate of the kind's own weights (default: --lr; 1e-3 for dhe and tt)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--buckets", type=int, default=4, help="mixed-dim: frequency buckets")
    ap.add_argument("--cce-chunks", type=int, default=4)
    ap.add_argument("--cce-clusterings", type=int, default=7,
                    help="cce: cluster after each of the first N epochs")
    ap.add_argument("--dhe-layers", type=int, default=2, help="dhe: hidden layers")
    ap.add_argument("--tt-dims", default="2,4,4", help="tt: dim as d1,d2,d3")
    a = ap.parse_args()
    kinds = a.kind.split(",")
    for k in kinds:
        if k not in KINDS:
            raise SystemExit(f"torch_kinds: unknown kind '{k}' ({', '.join(KINDS)})")
    if not (0.0 < a.ratio <= 1.0):
        raise SystemExit(f"torch_kinds: --ratio takes a share in (0, 1], got {a.ratio}")
    for name in ("epochs", "dim", "batch", "threads", "buckets", "cce_chunks", "dhe_layers"):
        if getattr(a, name) < 1:
            raise SystemExit(f"torch_kinds: --{name.replace('_', '-')} must be at least 1, "
                             f"got {getattr(a, name)}")
    torch.set_num_threads(a.threads)
    try:  # sklearn's k-means runs on OpenMP/BLAS threads: hold them to --threads as well
        from threadpoolctl import threadpool_limits
        threadpool_limits(a.threads)
    except ImportError:
        pass
    users, items, n_users, n_items = read_pairs(a.ratings)
    for k in kinds:
        print(json.dumps(run(k, users, items, n_users, n_items, a)), flush=True)


if __name__ == "__main__":
    main()
