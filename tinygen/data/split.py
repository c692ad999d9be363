"""The held-out test split: a seeded share of N examples, the same for the same seed and N.

Place in the tower: data/. Imports NumPy and data.errors.

When a user's data (a folder without train/ and test/, or a .npy/.npz file) does not come in two
splits, load_dataset holds out round(test_fraction * N) examples, at least 1, as the test split:

    order = default_rng(split_seed).permutation(N)
    test  = sorted(order[:n_test]),   train = sorted(order[n_test:])

so no test figure is ever computed on a training image. The examples are in the file's order,
or for a folder in the sorted order of the relative paths, so the split depends only on the
seed and the list of files; it does not depend on the training seed, which leaves the test set
fixed while runs with different seeds are compared.
"""
from __future__ import annotations

import numpy as np

from .errors import DataError


def check_test_fraction(test_fraction: float) -> None:
    """Refuse a test_fraction (--test-fraction) outside the open interval (0, 1)."""
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) \
            or not 0 < test_fraction < 1:
        raise DataError(f"test_fraction must be a number between 0 and 1 (exclusive), "
                        f"got {test_fraction!r}")


def held_out(n: int, test_fraction: float, split_seed: int,
             where: str) -> tuple[np.ndarray, np.ndarray]:
    """-> (train indices, test indices), int64, each sorted, together a partition of 0..n-1.

    Raises DataError naming `where` when n < 2 (one example cannot be split in two).
    """
    check_test_fraction(test_fraction)
    if n < 2:
        raise DataError(f"{where}: {n} example(s) cannot be split into a train and a test "
                        "set; give at least 2 (or train/ and test/ folders)")
    n_test = min(max(1, round(test_fraction * n)), n - 1)
    order = np.random.default_rng(split_seed).permutation(n)
    return np.sort(order[n_test:]), np.sort(order[:n_test])
