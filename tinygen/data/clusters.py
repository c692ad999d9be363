"""k-means clusters of images: label-free groups a GAN can condition on (`--clusters K`).

Place in the tower: data/ (NumPy only).

Lloyd's k-means on feature vectors x_i in R^D minimises the inertia

    J(c, mu) = sum_i |x_i - mu_{c_i}|^2

by alternating two steps that each lower J: assign every image to its nearest centre,
c_i = argmin_j |x_i - mu_j|^2 (computed as |x|^2 - 2 x.mu + |mu|^2, one matrix product), then
move every centre to the mean of its images. The start is k-means++ (Arthur & Vassilvitskii
2007): the first centre a random image, each next one an image drawn with probability
proportional to its squared distance from the nearest centre chosen so far. J has many local
minima, so `restarts` starts are run and the lowest J kept.

The features are the pixels in [0, 1] after `deskew`: each image moved so its centre of mass
is the grid's centre and sheared so its slant is gone (moment deskewing, as for the deskewed
k-NN of LeCun et al. 1998). On raw pixels two 1s leaning different ways are far apart and a
slanted 4 is near a 9; without position and slant a cluster gathers one shape. On mnist-5k's
4000 training digits (seeds 0-2), K = 50 clusters are 80-82 % pure on raw pixels (the share of
images whose cluster's most common digit is their own) and 88-89 % after deskewing; K = 10
57-59 % and 72-75 %, K = 20 70-71 % and 81 %, K = 100 (deskewed) 91 %.

Then `smooth` pulls each image's features towards its neighbours' on the k-nearest-neighbour
graph, f_i <- (f_i + mean of f_j over i's 5 nearest images) / 2, four times: an image that lies
between two digits' crowds moves into the crowd it is nearest to, so k-means cuts where the
graph is thin rather than through the middle of a crowd (the idea of spectral clustering, Ng,
Jordan & Weiss 2001, kept to a few averaging steps; the "feature propagation" of Wu et al.
2019). K = 100 on mnist-5k: 94.2-94.4 % pure against 90.6-91.0 % without (seeds 0-2); a 10-NN
graph's spectral embedding scored the same (94.0-94.6 %) at an N x N eigendecomposition's cost.
Everything is float64 and seeded, so the same images give the same clusters.
"""
from __future__ import annotations

import numpy as np

CHUNK = 4096            # rows per distance block: bounds the float64 copy of a large dataset
NEIGHBOURS, SMOOTHING_STEPS = 5, 4   # smooth's graph and its steps (3 neighbours or 3 steps:
                                     # 93-94 % pure; 8 neighbours: 94 %; 6 steps: the same)
DISTANCES = 2**24       # entries of a distance block in `neighbours` (128 MB of float64)
FEATURES = ("pixels", "deskewed", "smoothed")   # what pixel_clusters can cluster on
DESKEW_PIXELS = 2**20   # pixels (C*H*W summed over images) per deskew call: its dozen float64
                        # temporaries of (N, C, H, W) stay near 100 MB whatever the image size


def _nearest(x, centres):
    """(index (N,), squared distance (N,)) of each row's nearest centre, in row blocks."""
    sq = (centres * centres).sum(1)
    index, dist = np.empty(len(x), np.int64), np.empty(len(x))
    for s in range(0, len(x), CHUNK):
        xb = x[s:s + CHUNK].astype(np.float64)
        d = (xb * xb).sum(1)[:, None] - 2 * xb @ centres.T + sq[None]   # (B, K)
        index[s:s + CHUNK] = d.argmin(1)
        dist[s:s + CHUNK] = np.maximum(d.min(1), 0.0)
    return index, dist


def _kmeans_pp(x, k, rng):
    """k-means++ starting centres (k, D)."""
    centres = [x[rng.integers(len(x))].astype(np.float64)]
    _, d2 = _nearest(x, centres[0][None])
    for _ in range(k - 1):
        total = d2.sum()
        pick = rng.integers(len(x)) if total == 0 else rng.choice(len(x), p=d2 / total)
        centres.append(x[pick].astype(np.float64))
        d2 = np.minimum(d2, _nearest(x, centres[-1][None])[1])
    return np.stack(centres)


def kmeans(x, k: int, seed: int = 0, restarts: int = 3, max_iter: int = 100):
    """Cluster the rows of x (N, D) into k groups: (assignment (N,) int64 in 0..k-1, centres
    (k, D) float64, inertia J). Each restart runs Lloyd's steps until no assignment changes (or
    max_iter); an emptied cluster keeps its centre. ValueError unless 1 <= k <= N."""
    x = np.asarray(x)
    if not 1 <= k <= len(x):
        raise ValueError(f"k-means needs 1 <= k <= the number of images ({len(x)}), got {k}")
    best = None
    for r in range(restarts):
        rng = np.random.default_rng([seed, r])
        centres = _kmeans_pp(x, k, rng)
        assign = None
        for _ in range(max_iter):
            new, dist = _nearest(x, centres)
            if assign is not None and np.array_equal(new, assign):
                break
            assign = new
            counts = np.bincount(assign, minlength=k)
            sums = np.zeros_like(centres)
            for s in range(0, len(x), CHUNK):   # sums[j] = the sum of cluster j's rows
                onehot = np.eye(k)[assign[s:s + CHUNK]]                    # (B, k)
                sums += onehot.T @ x[s:s + CHUNK].astype(np.float64)
            filled = counts > 0
            centres[filled] = sums[filled] / counts[filled, None]
        else:   # max_iter ran out: the assignment and J of the last centres
            assign, dist = _nearest(x, centres)
        inertia = float(dist.sum())
        if best is None or inertia < best[2]:
            best = (assign, centres, inertia)
    return best


def deskew(x: np.ndarray) -> np.ndarray:
    """Images x (N, C, H, W) float, centred and unslanted (N, C, H, W) float64.

    With an image's weights p(r, c) = mean over channels / its sum (r the row, c the column),
    its centre of mass (r0, c0) and second moments var_r = E[(r - r0)^2],
    cov = E[(r - r0)(c - c0)]; the slant s = cov / var_r is how many columns the ink moves right
    per row down. Output pixel (r, c) reads the input, bilinearly (zero outside), at

        (r + r0 - rm,  c + c0 - cm + s (r - rm))        (rm, cm) = ((H - 1) / 2, (W - 1) / 2)

    so the centre of mass lands on the grid's centre and cov becomes 0 (up to the pixels lost at
    the border and the interpolation). A blank image stays blank."""
    x = np.asarray(x, np.float64)
    n, _, h, w = x.shape
    r = np.arange(h, dtype=np.float64)[None, :, None]                   # (1, H, 1)
    c = np.arange(w, dtype=np.float64)[None, None, :]                   # (1, 1, W)
    p = x.mean(1)                                                        # (N, H, W)
    mass = p.sum((1, 2), keepdims=True)
    p = p / np.where(mass > 0, mass, 1.0)
    r0, c0 = (r * p).sum((1, 2), keepdims=True), (c * p).sum((1, 2), keepdims=True)
    var_r = ((r - r0) ** 2 * p).sum((1, 2), keepdims=True)
    cov = ((r - r0) * (c - c0) * p).sum((1, 2), keepdims=True)
    slant = cov / np.where(var_r > 0, var_r, 1.0)
    rm, cm = (h - 1) / 2, (w - 1) / 2
    src_r = np.broadcast_to(r + r0 - rm, (n, h, w))                      # where (r, c) reads
    src_c = c + c0 - cm + slant * (r - rm)
    top, left = np.floor(src_r).astype(np.int64), np.floor(src_c).astype(np.int64)
    fr, fc = src_r - top, src_c - left
    out = np.zeros_like(x)
    at = np.arange(n)[:, None, None]
    for dr, wr in ((0, 1 - fr), (1, fr)):                                # the 4 neighbours
        for dc, wc in ((0, 1 - fc), (1, fc)):
            rr, cc = top + dr, left + dc
            inside = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            weight = np.where(inside, wr * wc, 0.0)[:, None]             # (N, 1, H, W)
            out += weight * x[at, :, rr.clip(0, h - 1), cc.clip(0, w - 1)].transpose(0, 3, 1, 2)
    return out


def neighbours(x, k: int) -> np.ndarray:
    """(N, k) int64: for each row of x (N, D), the k other rows nearest to it (squared
    Euclidean distance, nearest first; ties by index), computed in blocks of DISTANCES
    entries. ValueError unless 1 <= k < N."""
    x = np.asarray(x, np.float64)
    n = len(x)
    if not 1 <= k < n:
        raise ValueError(f"{k} nearest neighbours need more than {k} images, got {n}")
    sq = (x * x).sum(1)
    out = np.empty((n, k), np.int64)
    rows = max(1, DISTANCES // n)
    for s in range(0, n, rows):
        d = sq[s:s + rows, None] - 2 * x[s:s + rows] @ x.T + sq[None]      # (B, N)
        d[np.arange(len(d)), np.arange(s, s + len(d))] = np.inf            # not itself
        kth = np.take_along_axis(d, np.argpartition(d, k - 1, axis=1)[:, k - 1:k], 1)
        closer = d < kth                                                    # (B, N): all in
        tied = d == kth                           # the first of these by index fill the rest
        keep = closer | (tied & (np.cumsum(tied, 1) <= k - closer.sum(1, keepdims=True)))
        near = np.nonzero(keep)[1].reshape(len(d), k)                       # by index
        order = np.argsort(np.take_along_axis(d, near, 1), axis=1, kind="stable")
        out[s:s + rows] = np.take_along_axis(near, order, 1)                # then by distance
    return out


def smooth(x, k: int = NEIGHBOURS, steps: int = SMOOTHING_STEPS) -> np.ndarray:
    """Features x (N, D) averaged over their k-nearest-neighbour graph (N, D) float64:

        f^0 = x,   f_i^{t+1} = (f_i^t + (1/k) sum_{j in kNN(i)} f_j^t) / 2,   t < steps

    (a lazy random walk on the graph of each row's k nearest rows in x, taken `steps` times)."""
    f = np.asarray(x, np.float64)
    near = neighbours(f, k)
    for _ in range(steps):
        mean = np.zeros_like(f)
        for j in range(k):                 # column by column: no (N, k, D) temporary
            mean += f[near[:, j]]
        f = (f + mean / k) / 2
    return f


def pixel_clusters(images, k: int, seed: int = 0, features: str = "smoothed") -> np.ndarray:
    """k-means cluster (N,) int64 of each uint8 image (N, C, H, W), on its pixels in [0, 1]:
    features "smoothed" (the default) deskews them (DESKEW_PIXELS at a time) and smooths them
    over the 5-NN graph, "deskewed" only deskews them, "pixels" takes them raw (how runs made
    before the deskewing, and before the smoothing, were clustered)."""
    if features not in FEATURES:
        raise ValueError(f"cluster features must be one of {FEATURES}, got {features!r}")
    images = np.asarray(images)
    feats = images.reshape(len(images), -1).astype(np.float32) / 255.0
    if features != "pixels":
        step = max(1, DESKEW_PIXELS // max(1, feats.shape[1]))
        feats = np.concatenate([deskew(images[s:s + step] / 255.0).astype(np.float32)
                                for s in range(0, len(images), step)]).reshape(feats.shape)
    if features == "smoothed" and len(feats) > NEIGHBOURS:
        feats = smooth(feats).astype(np.float32)
    return kmeans(feats, k, seed)[0]
