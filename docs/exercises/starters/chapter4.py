"""Chapter 4 exercise: unfold and fold for 1-D signals x: (N, C, L).

Check:  python docs/exercises/check.py chapter4 this_file.py
"""
import numpy as np


def unfold1d(x, k, stride=1, padding=0):
    """(N, C, L) -> cols (C*k, N*OL), OL = (L + 2*padding - k) // stride + 1, with

        cols[c*k + j, n*OL + t] = x_padded[n, c, t*stride + j]      (zero padding)

    (tinygen's 2-D layout with height 1), so that conv1d(x, w) is w.reshape(O, C*k) @ cols.
    """
    raise NotImplementedError("your code here")


def fold1d(cols, x_shape, k, stride=1, padding=0):
    """The adjoint of unfold1d: (C*k, N*OL) -> x_shape = (N, C, L), each column entry added
    back onto the sample unfold1d read it from (entries from the padding dropped)."""
    raise NotImplementedError("your code here")
