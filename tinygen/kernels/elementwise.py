"""Fused, numerically stable elementwise kernels: sigmoid, softplus, log_sigmoid, BCE with logits.

Floor: kernels (the bottom of the tower). Imports numpy and numba only; no Tensor in here.

Every formula is written so that no exp() can overflow and no log() sees 0. All of them need only
e = exp(-|x|), which lies in (0, 1], and log1p(e):

    sigmoid(x)     = 1 / (1 + e)  for x >= 0,   e / (1 + e)  for x < 0
    softplus(x)    = log(1 + exp(x))  = max(x, 0) + log1p(e)
    log_sigmoid(x) = -softplus(-x)    = min(x, 0) - log1p(e)
    bce_with_logits(x, t) = -[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))]
                          = max(x, 0) - x*t + log1p(e)
    d bce_with_logits / dx = sigmoid(x) - t   (bce_with_logits_and_sigmoid returns sigmoid(x)
                                               with the loss, so a backward needs no exp)

and the piecewise-linear pair, one pass each instead of NumPy's two or three:

    leaky_relu(x, slope)         = x    if x > 0 else slope * x    (relu: slope 0)
    leaky_relu_grad(x, g, slope) = g    if x > 0 else slope * g

Who computes what, and why: numba has no vectorised exp or log here (no SVML), so a numba loop
calls libm once per entry. NumPy's own float32 exp and log are SIMD loops, but its log1p is not.
So the transcendentals are NumPy's (`_exp_neg_abs`, and log(1 + e) for log1p), and one numba
pass per formula does the rest, without temporaries (timings: benchmarks/RESULTS.md):

    log1p(e) = e                               if u = fl(1 + e) == 1
             = log(u) * e / (u - 1)            otherwise (u - 1 is exact)

which corrects the rounding of 1 + e and is accurate to a few ulps (Goldberg, "What every computer
scientist should know about floating-point arithmetic", 1991, Theorem 4; log(1 + e) alone
loses all relative accuracy as e -> 0).

Each numba loop receives `one` (1 in the arrays' dtype) as an argument: a literal 1.0 is a float64
in numba and would promote every float32 operation to float64 (and u = 1 + e must be rounded
exactly as NumPy rounded it). All results stay finite for x = +-1000 in float32 and float64.
Inputs of one call share a shape (any strides: they are made contiguous, then flattened); outputs
have that shape and x's dtype. Each public function has a NumPy twin (`*_numpy`). The loops are
serial: a prange loop saved a little on an idle machine but cost much more whenever the second
core was busy (BLAS worker threads spin there after every GEMM).
"""
import numba
import numpy as np


def _exp_neg_abs(x):
    """e = exp(-|x|) in (0, 1] (never overflows), with NumPy's SIMD exp. x: 1-D contiguous."""
    e = np.abs(x)
    np.negative(e, out=e)
    return np.exp(e, out=e)


def _log_one_plus(e):
    """log(fl(1 + e)) with NumPy's SIMD log; the kernels correct it to log1p(e)."""
    u = np.add(e, e.dtype.type(1))
    return np.log(u, out=u)


@numba.njit(cache=True, inline="always")
def _log1p(e, log_u, one):
    """log1p(e) from log_u = log(fl(1 + e)): Goldberg's correction (module docstring)."""
    u = one + e
    return e if u == one else log_u * (e / (u - one))


@numba.njit(cache=True, inline="always")
def _sigmoid1(x, e, one):
    """sigmoid(x) from e = exp(-|x|)."""
    return (one if x >= 0 else e) / (one + e)


@numba.njit(cache=True, error_model="numpy")
def sigmoid_kernel(x, e, one, out):
    """out[k] = sigmoid(x[k]); x, e = exp(-|x|), out: 1-D, same length and dtype."""
    for k in range(x.size):
        out[k] = _sigmoid1(x[k], e[k], one)


@numba.njit(cache=True, error_model="numpy")
def softplus_kernel(x, e, log_u, one, out):
    """out[k] = max(x[k], 0) + log1p(e[k])."""
    for k in range(x.size):
        out[k] = max(x[k], 0) + _log1p(e[k], log_u[k], one)


@numba.njit(cache=True, error_model="numpy")
def log_sigmoid_kernel(x, e, log_u, one, out):
    """out[k] = min(x[k], 0) - log1p(e[k])."""
    for k in range(x.size):
        out[k] = min(x[k], 0) - _log1p(e[k], log_u[k], one)


@numba.njit(cache=True, error_model="numpy")
def bce_with_logits_kernel(x, t, e, log_u, one, out, sig):
    """out[k] = max(x[k], 0) - x[k]*t[k] + log1p(e[k]) and sig[k] = sigmoid(x[k]), one pass."""
    for k in range(x.size):
        out[k] = max(x[k], 0) - x[k] * t[k] + _log1p(e[k], log_u[k], one)
        sig[k] = _sigmoid1(x[k], e[k], one)


@numba.njit(cache=True)
def relu_kernel(x, out):
    """out[k] = max(x[k], 0) as np.maximum computes it: 0 where x[k] <= 0, NaN stays NaN."""
    for k in range(x.size):
        out[k] = 0 if x[k] <= 0 else x[k]


@numba.njit(cache=True)
def leaky_relu_kernel(x, slope, out):
    """out[k] = x[k] if x[k] > 0 else slope * x[k]   (slope in x's dtype)."""
    for k in range(x.size):
        out[k] = x[k] if x[k] > 0 else slope * x[k]


@numba.njit(cache=True)
def leaky_relu_grad_kernel(x, g, slope, out):
    """out[k] = g[k] if x[k] > 0 else slope * g[k]."""
    for k in range(x.size):
        out[k] = g[k] if x[k] > 0 else slope * g[k]


def _flat_inputs(x, *others):
    """Check float dtype and matching shapes; return contiguous 1-D views (others cast to x's dtype)."""
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"expected a float32 or float64 array, got {x.dtype}")
    for a in others:
        if np.shape(a) != x.shape:
            raise ValueError(f"shape mismatch: {x.shape} vs {np.shape(a)} (broadcast first)")
    flat = [np.ascontiguousarray(a, dtype=x.dtype).reshape(-1) for a in (x, *others)]
    return x.shape, flat


def sigmoid(x):
    """1 / (1 + exp(-x)), without overflow. x: any shape -> same shape and dtype."""
    shape, (x,) = _flat_inputs(x)
    out = _exp_neg_abs(x)
    sigmoid_kernel(x, out, x.dtype.type(1), out)  # in place: entry k reads e[k], then writes it
    return out.reshape(shape)


def _softplus_like(kernel, x):
    shape, (x,) = _flat_inputs(x)
    e = _exp_neg_abs(x)
    kernel(x, e, _log_one_plus(e), x.dtype.type(1), e)  # in place, as in sigmoid
    return e.reshape(shape)


def softplus(x):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))."""
    return _softplus_like(softplus_kernel, x)


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|))."""
    return _softplus_like(log_sigmoid_kernel, x)


def bce_with_logits_and_sigmoid(x, t):
    """(bce_with_logits(x, t), sigmoid(x)) from one pass: the loss, and what its gradient
    g * (sigmoid(x) - t) needs, so a backward pass computes no exp at all."""
    shape, (x, t) = _flat_inputs(x, t)
    e = _exp_neg_abs(x)
    out, sig = np.empty_like(x), np.empty_like(x)
    bce_with_logits_kernel(x, t, e, _log_one_plus(e), x.dtype.type(1), out, sig)
    return out.reshape(shape), sig.reshape(shape)


def bce_with_logits(x, t):
    """Elementwise binary cross-entropy of logits x against targets t in [0, 1] (not reduced)."""
    return bce_with_logits_and_sigmoid(x, t)[0]


def relu(x):
    """max(x, 0). x: any shape -> same shape and dtype. (One numba pass, faster than
    np.maximum(x, 0): benchmarks/RESULTS.md.)"""
    shape, (x,) = _flat_inputs(x)
    out = np.empty_like(x)
    relu_kernel(x, out)
    return out.reshape(shape)


def leaky_relu(x, slope):
    """x where x > 0, else slope * x. x: any shape -> same shape and dtype."""
    shape, (x,) = _flat_inputs(x)
    out = np.empty_like(x)
    leaky_relu_kernel(x, x.dtype.type(slope), out)
    return out.reshape(shape)


def leaky_relu_grad(x, g, slope):
    """g where x > 0, else slope * g: the gradient of leaky_relu(x, slope), scaled by g."""
    shape, (x, g) = _flat_inputs(x, g)
    out = np.empty_like(x)
    leaky_relu_grad_kernel(x, g, x.dtype.type(slope), out)
    return out.reshape(shape)


# ----------------------------------------------------------------------------- NumPy twins

def sigmoid_numpy(x):
    """NumPy twin of `sigmoid`: exp of -|x| never overflows, then pick the branch by sign."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def softplus_numpy(x):
    return (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype)


def log_sigmoid_numpy(x):
    return (np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))).astype(x.dtype)


def bce_with_logits_numpy(x, t):
    return (np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype)


def relu_numpy(x):
    return np.maximum(x, x.dtype.type(0))


def leaky_relu_numpy(x, slope):
    return np.where(x > 0, x, x.dtype.type(slope) * x)


def leaky_relu_grad_numpy(x, g, slope):
    return np.where(x > 0, g, x.dtype.type(slope) * g).astype(x.dtype)
