"""Latent space: is it organised by class (k-NN accuracy), and paths through it for figures.

Place in the tower: metrics/ (imports NumPy only; the codes come from the models, e.g. the VAE
posterior means of metrics/likelihood.py, and the decoded paths go to tinygen.plots).

k-NN accuracy ("similar images sit close together", measured): each test code is given the
majority label of its k nearest training codes (Euclidean distance; a tie between labels goes
to the label whose tied neighbours are nearer in total), and the score is the fraction of test
codes whose vote is their own label. The same function on raw pixels gives the yardstick.

Paths: `lerp` is the straight line between two codes (VAE posterior means: the decoder was
trained around them); `slerp` the great circle (Shoemake 1985), the usual path between GAN
noise vectors, since N(0, I) noise in d dimensions concentrates near the sphere of radius
sqrt(d) and a straight line would pass through unlikely low-norm noise (White 2016).
"""
from __future__ import annotations

import numpy as np


def knn_predict(train_z, train_y, test_z, k: int = 5, chunk: int = 1000) -> np.ndarray:
    """Majority label of the k nearest rows of train_z (N, d) for each row of test_z (M, d)
    -> (M,) int64; distances in float64, chunks of `chunk` test rows at a time."""
    train_z, test_z = np.asarray(train_z, np.float64), np.asarray(test_z, np.float64)
    train_y = np.asarray(train_y, np.int64)
    if train_z.ndim != 2 or test_z.ndim != 2 or train_z.shape[1] != test_z.shape[1]:
        raise ValueError(f"k-NN needs codes (N, d) and (M, d), got {train_z.shape} and "
                         f"{test_z.shape}")
    k = min(k, len(train_z))
    classes = int(train_y.max()) + 1
    out = np.empty(len(test_z), np.int64)
    sq_train = np.sum(train_z ** 2, axis=1)
    for i in range(0, len(test_z), chunk):
        t = test_z[i:i + chunk]
        d2 = np.sum(t ** 2, axis=1)[:, None] - 2 * t @ train_z.T + sq_train[None, :]
        nearest = np.argpartition(d2, k - 1, axis=1)[:, :k]                 # (m, k)
        labels = train_y[nearest]
        rows = np.arange(len(t))[:, None]
        votes = np.zeros((len(t), classes))
        np.add.at(votes, (rows, labels), 1.0)
        closeness = np.zeros((len(t), classes))        # tie-break: smaller total distance
        np.add.at(closeness, (rows, labels), -np.sqrt(np.maximum(d2[rows, nearest], 0)))
        out[i:i + chunk] = np.argmax(votes * 1e6 + closeness / (1 + np.abs(closeness).max()),
                                     axis=1)
    return out


def knn_accuracy(train_z, train_y, test_z, test_y, k: int = 5) -> float:
    """Fraction of test codes whose k-NN vote among the training codes is their label."""
    return float(np.mean(knn_predict(train_z, train_y, test_z, k) == np.asarray(test_y)))


def lerp(a, b, t) -> np.ndarray:
    """Points (1 - t) a + t b on the segment from a (d,) to b (d,), one per t (T,) -> (T, d)."""
    t = np.asarray(t, np.float64)[:, None]
    return ((1 - t) * np.asarray(a, np.float64) + t * np.asarray(b, np.float64)).astype(np.float32)


def slerp(a, b, t) -> np.ndarray:
    """Spherical interpolation from a (d,) to b (d,) -> (T, d):
    sin((1 - t) w) / sin(w) a + sin(t w) / sin(w) b, w the angle between a and b; the norm
    goes smoothly from |a| to |b| (lerp when a and b are parallel)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
    w = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(w) < 1e-6:
        return lerp(a, b, t)
    t = np.asarray(t, np.float64)[:, None]
    return ((np.sin((1 - t) * w) * a + np.sin(t * w) * b) / np.sin(w)).astype(np.float32)


def traversals(mu, units, values) -> np.ndarray:
    """Codes that move one latent unit at a time: for each unit u in `units`, len(values)
    copies of mu (d,) with unit u set to each value -> (len(units) * len(values), d)."""
    mu, values = np.asarray(mu, np.float32), np.asarray(values, np.float32)
    z = np.tile(mu, (len(units) * len(values), 1))
    for r, u in enumerate(units):
        z[r * len(values):(r + 1) * len(values), u] = values
    return z
