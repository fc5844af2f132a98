#!/usr/bin/env python3
"""History Bloom factorization in plain PyTorch, for a side-by-side run with
`bloom-compare --methods bloom-history --split numpy` (scripts/compare-pytorch.sh runs both).

The same model as bloom's: a user is the Bloom filter of its training items (history_k hashes
per item into the user side's rows) and its embedding is the mean of the rows of the set bits
(nn.EmbeddingBag, mode "sum" with weights 1/bits); items are frequency-aware Bloom (the most
frequent head_share x rows items get rows of their own, the rest sum k hashed shared rows);
biases are full tables. Training as the reference torch_mf.py: BPR loss 1 - sigmoid(pos - neg),
uniform negatives, dense Adam with weight decay, the split of np.random.RandomState(seed)
.permutation. MRR, P@10 and R@10 as bloom's evaluation (train items excluded).

The hash functions are MurmurHash3 with this script's own seeds, so rows differ from bloom's: the
comparison is of the model and its cost, not of bit-identical runs.

Usage: torch_history_mf.py RATINGS [--ratio 0.2] [--k 4] [--history-k 1] [--head-share 0.5]
         [--epochs 10] [--dim 32] [--batch 256] [--lr 1e-2] [--l2 1e-6] [--seed 42] [--threads 1]
Prints one JSON line. Needs Debian's python3-torch, python3-numpy and python3-sklearn.
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn as nn
from sklearn.utils import murmurhash3_32

from torch_common import read_pairs

HASH_SEEDS = [0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1, 0xD3A2646C,
              0xFD7046C5, 0xB55A4F09]


def hashed(ids, k, rows):
    return np.stack([murmurhash3_32(ids.astype(np.int32), seed=s, positive=True) % rows
                     for s in HASH_SEEDS[:k]], 1)


class HistoryUsers(nn.Module):
    def __init__(self, n_users, n_items, train_u, train_i, rows, k, dim):
        super().__init__()
        self.bag = nn.EmbeddingBag(rows, dim, mode="sum")
        nn.init.normal_(self.bag.weight, 0, 1.0 / dim)
        item_bits = hashed(np.arange(n_items), k, rows)
        bits, counts = [], np.zeros(n_users, dtype=np.int64)
        order = np.argsort(train_u, kind="stable")
        starts = np.searchsorted(train_u[order], np.arange(n_users + 1))
        for u in range(n_users):
            b = np.unique(item_bits[train_i[order[starts[u]:starts[u + 1]]]].ravel())
            bits.append(b)
            counts[u] = len(b)
        self.register_buffer("flat", torch.from_numpy(np.concatenate(bits).astype(np.int64)))
        self.register_buffer("count", torch.from_numpy(counts))
        self.register_buffer("start", torch.from_numpy(np.concatenate([[0], np.cumsum(counts)[:-1]])))

    def forward(self, u):
        n = self.count[u]
        offsets = torch.cumsum(n, 0) - n
        within = torch.arange(int(n.sum())) - torch.repeat_interleave(offsets, n)
        idx = self.flat[torch.repeat_interleave(self.start[u], n) + within]
        w = torch.repeat_interleave(1.0 / n.clamp(min=1).float(), n)
        return self.bag(idx, offsets, per_sample_weights=w)


class FreqBloomItems(nn.Module):
    def __init__(self, n_items, train_i, rows, k, dim, head_share):
        super().__init__()
        head = min(int(head_share * rows), n_items)
        shared = rows - head
        self.emb = nn.Embedding(rows, dim)
        nn.init.normal_(self.emb.weight, 0, 1.0 / dim)
        pos = hashed(np.arange(n_items), k, shared)
        freq = np.bincount(train_i, minlength=n_items)
        top = np.argsort(-freq, kind="stable")[:head]
        mask = np.ones((n_items, k), dtype=np.float32)
        pos[top] = (shared + np.arange(head))[:, None]
        mask[top, 1:] = 0.0  # an own row counts once
        self.register_buffer("pos", torch.from_numpy(pos.astype(np.int64)))
        self.register_buffer("mask", torch.from_numpy(mask))

    def forward(self, i):
        return (self.emb(self.pos[i]) * self.mask[i].unsqueeze(2)).sum(1)


class Model(nn.Module):
    def __init__(self, users, items, n_users, n_items):
        super().__init__()
        self.users, self.items = users, items
        self.user_bias, self.item_bias = nn.Embedding(n_users, 1), nn.Embedding(n_items, 1)
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)

    def score(self, eu, u, i):
        return ((eu * self.items(i)).sum(1) + self.user_bias(u).squeeze(1)
                + self.item_bias(i).squeeze(1))


def evaluate(model, train_u, train_i, test_u, test_i, n_items, cut=10):
    seen, held = {}, {}
    for a, b in zip(train_u, train_i):
        seen.setdefault(a, []).append(b)
    for a, b in zip(test_u, test_i):
        held.setdefault(a, []).append(b)
    all_items = torch.arange(n_items)
    mrr = prec = rec = 0.0
    with torch.no_grad():
        item_vecs = model.items(all_items)
        item_b = model.item_bias(all_items).squeeze(1)
        for user, pos in held.items():
            u = torch.tensor([user])
            s = (item_vecs @ model.users(u)[0] + item_b + model.user_bias(u)[0]).numpy()
            s[seen.get(user, [])] = -np.inf
            order = np.argsort(-s, kind="stable")
            rank = np.empty(n_items, dtype=np.int64)
            rank[order] = np.arange(1, n_items + 1)
            mrr += np.mean(1.0 / rank[pos])
            hits = np.isin(order[:cut], pos).sum()
            prec += hits / cut
            rec += hits / len(pos)
    n = len(held)
    return mrr / n, prec / n, rec / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ratings")
    ap.add_argument("--ratio", type=float, default=0.2)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--history-k", type=int, default=1)
    ap.add_argument("--head-share", type=float, default=0.5)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--l2", type=float, default=1e-6)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    users, items, n_users, n_items = read_pairs(a.ratings)
    rng = np.random.RandomState(a.seed)
    perm = rng.permutation(len(users))
    cut = int(0.8 * len(users))
    tr, te = perm[:cut], perm[cut:]
    torch.manual_seed(a.seed)
    user_rows = max(int(a.ratio * n_users), a.history_k)
    item_rows = max(int(a.ratio * n_items), a.k)
    model = Model(HistoryUsers(n_users, n_items, users[tr], items[tr], user_rows, a.history_k, a.dim),
                  FreqBloomItems(n_items, items[tr], item_rows, a.k, a.dim, a.head_share),
                  n_users, n_items)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, weight_decay=a.l2)
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        order = rng.permutation(len(tr))
        bu_all, bi_all = torch.from_numpy(users[tr][order]), torch.from_numpy(items[tr][order])
        for b in range(0, len(tr), a.batch):
            bu, bi = bu_all[b:b + a.batch], bi_all[b:b + a.batch]
            neg = torch.from_numpy(rng.randint(0, n_items, len(bu)))
            eu = model.users(bu)
            loss = (1.0 - torch.sigmoid(model.score(eu, bu, bi) - model.score(eu, bu, neg))).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    fit = time.perf_counter() - t0
    mrr, p10, r10 = evaluate(model, users[tr], items[tr], users[te], items[te], n_items)
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps(dict(peer="pytorch", model="history-bloom-mf", ratio=a.ratio, k=a.k,
                          history_k=a.history_k, dim=a.dim, params=params,
                          fit_s=round(fit, 3), epoch_s=round(fit / a.epochs, 4),
                          mrr=round(mrr, 5), p10=round(p10, 5), r10=round(r10, 5))), flush=True)


if __name__ == "__main__":
    main()
