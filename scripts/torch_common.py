"""What the plain-PyTorch reference scripts in scripts/ share (imported from the same folder).

read_pairs(path): the (user, item) pairs of a whitespace-separated ratings file (MovieLens
u.data's layout), ids renumbered densely in order of first appearance, as ../shared/peers/
torch_mf.py numbers them. Returns (users, items, n_users, n_items), the first two NumPy arrays.
"""
import numpy as np


def read_pairs(path):
    users, items = [], []
    with open(path, encoding="latin-1") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 2:
                users.append(fields[0])
                items.append(fields[1])
    uid = {raw: n for n, raw in enumerate(dict.fromkeys(users))}
    iid = {raw: n for n, raw in enumerate(dict.fromkeys(items))}
    return (np.array([uid[x] for x in users]), np.array([iid[x] for x in items]),
            len(uid), len(iid))
