"""Chapter 5, reference solution: log(exp(a) + exp(b)) as a numba kernel with a NumPy twin.

    logaddexp(a, b) = max(a, b) + log1p(exp(-|a - b|))       (exp of a number <= 0: no overflow)
"""
import numba
import numpy as np


@numba.njit(cache=True)
def logaddexp_kernel(a, b, out):
    """out[k] = logaddexp(a[k], b[k]); a, b, out: 1-D, same length and dtype."""
    for k in range(a.size):
        hi, lo = max(a[k], b[k]), min(a[k], b[k])
        out[k] = hi + np.log1p(np.exp(lo - hi))


def logaddexp(a, b):
    """Front end: check, make contiguous and flat, allocate, call the kernel, reshape."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype or a.dtype.kind != "f":
        raise ValueError(f"logaddexp: need two float arrays of one shape and dtype, got "
                         f"{a.shape} {a.dtype} and {b.shape} {b.dtype}")
    flat_a, flat_b = np.ascontiguousarray(a).reshape(-1), np.ascontiguousarray(b).reshape(-1)
    out = np.empty_like(flat_a)
    logaddexp_kernel(flat_a, flat_b, out)
    return out.reshape(a.shape)


def logaddexp_numpy(a, b):
    """NumPy twin: the same formula as array expressions (three temporaries)."""
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    return hi + np.log1p(np.exp(lo - hi))
