"""Minibatches: shuffled index batches driven only by an explicit seed or Generator, and the
scaling of uint8 images to float32 done one batch at a time.

Place in the tower: data/. Imports NumPy and data.errors.

    for xb, yb in iterate_batches((x, y), 64, rng):       # rng: np.random.Generator
        xb = as_float(xb)                                 # uint8 0..255 -> float32 [0, 1]
        ...
An int seed gives the same order on every call; a Generator gives a new order on every call
(epoch) and the same sequence of orders for the same starting seed -- the usual choice.
Images stay uint8 in memory (one byte a pixel, a quarter of float32) and only the batch in use
is converted: Dataset.batches does both steps.
"""
from __future__ import annotations

import numbers
from typing import Iterator

import numpy as np

from .errors import DataError


def as_generator(seed_or_rng, what: str = "rng") -> np.random.Generator:
    """An int seed -> np.random.default_rng(seed); a Generator passes through; else TypeError.

    None is refused on purpose: randomness in tinygen is always explicit and reproducible.
    """
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    if isinstance(seed_or_rng, numbers.Integral) and not isinstance(seed_or_rng, bool):
        return np.random.default_rng(int(seed_or_rng))
    raise TypeError(f"{what} must be an int seed or a np.random.Generator, "
                    f"got {type(seed_or_rng).__name__}")


def as_float(x: np.ndarray) -> np.ndarray:
    """uint8 images (..., C, H, W) -> a new float32 array x / 255 in [0, 1]; a float32 array
    (points, or images already scaled) is returned unchanged. Any other dtype: TypeError."""
    if x.dtype == np.uint8:
        out = x.astype(np.float32)
        out /= np.float32(255)   # in place, the same float32 division the loaders always did
        return out
    if x.dtype == np.float32:
        return x
    raise TypeError(f"as_float expects uint8 images or float32 data, got {x.dtype}")


def _length(n_or_arrays) -> int:
    if isinstance(n_or_arrays, numbers.Integral):
        if n_or_arrays < 0:
            raise DataError(f"number of examples must be >= 0, got {n_or_arrays}")
        return int(n_or_arrays)
    arrays = n_or_arrays if isinstance(n_or_arrays, (tuple, list)) else (n_or_arrays,)
    if not arrays or any(np.ndim(a) == 0 for a in arrays):
        raise DataError("iterate_batches needs an int or arrays with a leading batch axis")
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        shapes = ", ".join(str(np.shape(a)) for a in arrays)
        raise DataError(f"arrays must share their first dimension, got shapes {shapes}")
    return lengths.pop()


def iterate_batches(n_or_arrays, batch_size: int, rng=None, shuffle: bool = True,
                    drop_last: bool = False) -> Iterator:
    """Minibatches over N examples (an iterator; the order is drawn when this is called).

    n_or_arrays: an int N -> yields int64 index arrays (B,);
                 one array (N, ...) -> yields array[idx];
                 a tuple/list of arrays, all (N, ...) -> yields a tuple (a[idx] for a ...).
    rng: an int seed or np.random.Generator; required when shuffle=True.
    Every index appears exactly once; the last batch is smaller when batch_size does not
    divide N, unless drop_last=True drops it.
    """
    if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise DataError(f"batch_size must be a positive int, got {batch_size!r}")
    n = _length(n_or_arrays)
    if shuffle and rng is None:
        raise TypeError("shuffle=True needs an explicit seed or np.random.Generator (rng)")
    order = as_generator(rng).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    batches = (order[i:i + batch_size] for i in range(0, stop, batch_size))
    if isinstance(n_or_arrays, numbers.Integral):
        return batches
    if isinstance(n_or_arrays, (tuple, list)):
        return (tuple(a[idx] for a in n_or_arrays) for idx in batches)
    return (n_or_arrays[idx] for idx in batches)
