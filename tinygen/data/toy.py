"""2D Gaussian mixtures for GANs: ring8 and grid25, the protocol of VEEGAN and PacGAN.

Place in the tower: data/. Imports NumPy and data.batches (for as_generator).

    ring8:  8 Gaussians, centres evenly spaced on a circle of radius 2,
            mu_k = 2 (cos(2 pi k / 8), sin(2 pi k / 8)), k = 0..7;  std 0.02
    grid25: 25 Gaussians, centres {-4, -2, 0, 2, 4}^2 (row-major: x outer, y inner);  std 0.05
Each component has weight 1/K and covariance std^2 I.

The GAN metrics use `centres` and `std`: a sample is high quality when it lies within 3 std of
its nearest centre, and a mode is captured when at least one high-quality sample is nearest
to it (Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .batches import as_generator


@dataclass(frozen=True, eq=False)
class Mixture2D:
    """An equal-weight mixture of isotropic 2D Gaussians: centres (K, 2) float64, std."""
    name: str
    centres: np.ndarray
    std: float

    def __post_init__(self):
        self.centres.setflags(write=False)  # shared constants: keep them constant

    def sample_with_modes(self, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """-> (x float32 (n, 2), mode int64 (n,)): x = centres[mode] + std * eps, eps ~ N(0, I)."""
        rng = as_generator(rng)
        modes = rng.integers(len(self.centres), size=n)
        x = self.centres[modes] + self.std * rng.standard_normal((n, 2))
        return x.astype(np.float32), modes.astype(np.int64)

    def sample(self, n: int, rng) -> np.ndarray:
        """n fresh points, float32 (n, 2), drawn with the int seed or Generator `rng`."""
        return self.sample_with_modes(n, rng)[0]

    def nearest(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x (n, 2) -> (index of the nearest centre int64 (n,), distance to it float64 (n,))."""
        d = np.linalg.norm(np.asarray(x, np.float64)[:, None, :] - self.centres[None], axis=-1)
        nearest = d.argmin(axis=1)
        return nearest, d[np.arange(len(d)), nearest]


def _ring(k: int, radius: float) -> np.ndarray:
    angles = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _grid(values) -> np.ndarray:
    gx, gy = np.meshgrid(values, values, indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float64)


RING8 = Mixture2D("ring8", _ring(8, 2.0), 0.02)
GRID25 = Mixture2D("grid25", _grid([-4, -2, 0, 2, 4]), 0.05)
MIXTURES = {m.name: m for m in (RING8, GRID25)}
