"""Mode coverage of 2D generators: the ring8 / grid25 protocol of VEEGAN and PacGAN.

Place in the tower: metrics/ (above vae/gan). Imports NumPy and tinygen.data only; it judges
arrays of points, so any generator (tinygen's or not) can be scored.

The protocol (Srivastava et al. 2017, "VEEGAN", sec. 5.1; Lin et al. 2018, "PacGAN", sec. 5):
the real data is an equal-weight mixture of K isotropic Gaussians with centres mu_k and std s.
For generated points x_1..x_n, let k(i) = argmin_k |x_i - mu_k| (the nearest centre).

    high quality   x_i is HQ when |x_i - mu_k(i)| <= 3 s
    hq_pct         100 * #HQ / n
    modes          #{k : some HQ point has k(i) = k}       (a mode is "captured")
    reverse_kl     KL(q || u) = sum_k q_k log(q_k K),  q_k = #{HQ i : k(i) = k} / #HQ,
                   u = uniform over the K modes; terms with q_k = 0 are 0 (0 log 0 = 0).
                   It is 0 when the HQ samples are spread evenly over all modes and log K when
                   they all sit on one mode; "reverse" because the generated distribution comes
                   first (PacGAN's name for it). Undefined (inf) when there is no HQ sample.
"""
from __future__ import annotations

import numpy as np

from tinygen.data import MIXTURES, Mixture2D


def _mixture(mixture) -> Mixture2D:
    if isinstance(mixture, Mixture2D):
        return mixture
    if mixture in MIXTURES:
        return MIXTURES[mixture]
    raise ValueError(f"mode metrics: unknown mixture {mixture!r}; expected a Mixture2D or one "
                     f"of {sorted(MIXTURES)}")


def mode_histogram(points, mixture) -> tuple[np.ndarray, np.ndarray]:
    """points (n, 2) -> (counts int64 (K,) of HQ points per nearest mode, hq bool (n,))."""
    mixture = _mixture(mixture)
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"mode metrics: points must be a non-empty (n, 2) array, "
                         f"got shape {points.shape}")
    nearest, distance = mixture.nearest(points)
    hq = np.isfinite(distance) & (distance <= 3 * mixture.std)
    counts = np.bincount(nearest[hq], minlength=len(mixture.centres))
    return counts, hq


def reverse_kl_to_uniform(counts) -> float:
    """KL(q || uniform) for a histogram of counts (K,): sum_k q_k log(q_k K); inf if empty."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() == 0:
        return float("inf")
    q = counts / counts.sum()
    q = q[q > 0]
    return float(np.sum(q * np.log(q * len(counts))))


def mode_metrics(points, mixture) -> dict:
    """The 2D protocol on generated points (n, 2) -> {'modes', 'n_modes', 'hq_pct',
    'reverse_kl', 'n'} (see the module docstring for the definitions)."""
    counts, hq = mode_histogram(points, mixture)
    return {"modes": int((counts > 0).sum()), "n_modes": len(counts),
            "hq_pct": float(100.0 * hq.mean()), "reverse_kl": reverse_kl_to_uniform(counts),
            "n": int(len(hq))}
