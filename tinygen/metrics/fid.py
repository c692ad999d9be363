"""Distances between two sets of feature vectors: Fréchet distance (FID) and kernel MMD (KID).

Place in the tower: metrics/ (imports NumPy only). The features come from elsewhere -- in
tinygen from the penultimate layer of the project's MNIST classifier (metrics/classifier.py,
`features`), which is why tinygen reports `fid_classifier`: the formula of Heusel et al. (2017),
but NOT their Inception network, so the numbers are not comparable with published FIDs.

Fréchet distance between Gaussians fitted to the two sets (means m, covariances S):
    FD = |m1 - m2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))
Tr (S1 S2)^(1/2) is computed without a matrix square root of a non-symmetric matrix: with
A = S1^(1/2) (symmetric, from eigh), S1 S2 is similar to A S2 A, which is symmetric positive
semi-definite, so Tr (S1 S2)^(1/2) = sum_i sqrt(lambda_i(A S2 A)).
FD is 0 for identical sets and grows with the difference; it is biased upwards for small sets
(Chong & Forsyth 2020), so compare numbers computed with the same set sizes only.

Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimate of the squared
maximum mean discrepancy with the cubic polynomial kernel k(a, b) = (a.b / d + 1)^3, averaged
over random subsets of equal size; unbiased, so it can be slightly negative when the sets
come from one distribution.
"""
from __future__ import annotations

import numpy as np


def _sqrt_psd(s) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix (eigh)."""
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(m1, s1, m2, s2) -> float:
    """|m1 - m2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) for means (d,) and covariances (d, d)."""
    m1, m2, s1, s2 = (np.asarray(a, np.float64) for a in (m1, m2, s1, s2))
    a = _sqrt_psd(s1)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(a @ s2 @ a), 0, None)).sum()
    return float(np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross)


def fid_from_features(f1, f2) -> float:
    """Fréchet distance between the Gaussians fitted to features f1 (N1, d) and f2 (N2, d)."""
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1] or min(len(f1), len(f2)) < 2:
        raise ValueError(f"FID needs two sets of >= 2 feature vectors of one size, got "
                         f"{f1.shape} and {f2.shape}")
    return frechet_distance(f1.mean(0), np.cov(f1, rowvar=False),
                            f2.mean(0), np.cov(f2, rowvar=False))


def kid_from_features(f1, f2, subsets: int = 10, subset_size: int = 1000, seed: int = 0) -> float:
    """Mean over `subsets` random subsets (size m = min(subset_size, N1, N2)) of the unbiased
    MMD^2 = mean_{i != j} k(a_i, a_j) + mean_{i != j} k(b_i, b_j) - 2 mean_{i, j} k(a_i, b_j)."""
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    m, d = min(subset_size, len(f1), len(f2)), f1.shape[1]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        a = f1[rng.choice(len(f1), m, replace=False)]
        b = f2[rng.choice(len(f2), m, replace=False)]
        kaa, kbb, kab = ((p @ q.T / d + 1) ** 3 for p, q in ((a, a), (b, b), (a, b)))
        off = m * (m - 1)
        values.append((kaa.sum() - np.trace(kaa)) / off + (kbb.sum() - np.trace(kbb)) / off
                      - 2 * kab.mean())
    return float(np.mean(values))
