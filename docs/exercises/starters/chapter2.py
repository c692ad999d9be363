"""Chapter 2 exercise: the adjoint of broadcasting.

Check:  python docs/exercises/check.py chapter2 this_file.py
"""
import numpy as np


def unbroadcast(grad, shape):
    """grad: a NumPy array shaped like np.broadcast_to(x, grad.shape) for some x of `shape`.
    Return the array of exactly `shape` such that, for every x of that shape,

        np.sum(np.broadcast_to(x, grad.shape) * grad) == np.sum(x * unbroadcast(grad, shape))
    """
    raise NotImplementedError("your code here")
