"""Chapter 4, reference solution: unfold and fold for 1-D signals (N, C, L)."""
import numpy as np


def _out_length(length, k, stride, padding):
    return (length + 2 * padding - k) // stride + 1


def unfold1d(x, k, stride=1, padding=0):
    """(N, C, L) -> cols (C k, N OL): cols[c k + j, n OL + t] = x_padded[n, c, t stride + j]."""
    n, c, length = x.shape
    out = _out_length(length, k, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    cols = np.empty((c, k, n, out), dtype=x.dtype)
    for j in range(k):                                     # one strided view per kernel tap
        cols[:, j] = xp[:, :, j:j + stride * (out - 1) + 1:stride].transpose(1, 0, 2)
    return cols.reshape(c * k, n * out)


def fold1d(cols, x_shape, k, stride=1, padding=0):
    """The adjoint of unfold1d: add every column entry back onto the sample it was read from;
    entries that came from the padding are dropped."""
    n, c, length = x_shape
    out = _out_length(length, k, stride, padding)
    cols = np.asarray(cols).reshape(c, k, n, out)
    xp = np.zeros((n, c, length + 2 * padding), dtype=cols.dtype)
    for j in range(k):
        xp[:, :, j:j + stride * (out - 1) + 1:stride] += cols[:, j].transpose(1, 0, 2)
    return xp[:, :, padding:padding + length].copy()
