"""Batch-normalization kernels: per-channel statistics and normalization, and its gradient.

Floor: kernels (the bottom of the tower). Imports numpy and numba only; no Tensor in here.

x: (N, C, ...) is viewed as (N, C, L), L = the product of the trailing axes (1 for an (N, C)
input); the statistics of channel c run over n and l, m = N*L entries, <.>_c their mean:

    mean_c = <x>_c,   var_c = <(x - mean_c)^2>_c  (biased),   r_c = (var_c + eps)^(-1/2)
    x_hat  = (x - mean_c) r_c                                       (batch_norm)
    y      = x_hat w_c + b_c                      (batch_norm_affine: the same pass writes both)
    dx     = r_c (g - <g>_c - x_hat <g x_hat>_c)                    (batch_norm_grad: dL/dx
                                                                     for g = dL/dx_hat)

Why kernels: a NumPy broadcast of a per-channel (1, C, 1, 1) vector over a batch is several
times slower than a plain copy of it, and the formulas take ~6 such passes each way. Here the
forward is three passes (sum, centred sum of squares, normalize) and the gradient two (timings:
benchmarks/RESULTS.md). Sums accumulate in float64 (m may be large); results are stored in x's
dtype.
Each front end has a NumPy twin (`*_numpy`) that the tests compare it against.
"""
import math

import numba
import numpy as np


@numba.njit(cache=True)
def _channel_means(row_sums, m, out):
    """out[c] = sum over l of row_sums[c*L + l], divided by m: (C*L,) sums at every (c, l) ->
    (C,) means. Plain loops throughout this file: numba compiles `a[:] = b`, .sum(axis=1) and
    np.repeat far more slowly (a cold start pays for it)."""
    n_pos = row_sums.size // out.size
    for c in range(out.size):
        total = 0.0
        for q in range(n_pos):
            total += row_sums[c * n_pos + q]
        out[c] = total / m
    return out


@numba.njit(cache=True)
def _per_entry(v, n_pos):
    """(C,) -> (C*L,): v[c] repeated L times, so the main loops run flat over k = c*L + l."""
    out = np.empty(v.size * n_pos)
    for c in range(v.size):
        for q in range(n_pos):
            out[c * n_pos + q] = v[c]
    return out


@numba.njit(cache=True)
def _statistics(x, eps, mean, var):
    """x: (N, C, L) C-contiguous; mean, var: (C,) float64, written (var biased) ->
    per-entry (C*L,) mean and r = (var + eps)^(-1/2).

    Every loop runs over a sample's C*L entries with per-entry accumulators (float64), which
    vectorizes for any L, including L = 1 (an (N, C) input); channels are summed at the end.
    """
    n_batch, n_chan, n_pos = x.shape
    m, size = n_batch * n_pos, n_chan * n_pos
    x2 = x.reshape(n_batch, size)
    acc = np.zeros(x2.shape[1])
    for n in range(n_batch):
        for k in range(acc.size):
            acc[k] += x2[n, k]
    mu = _per_entry(_channel_means(acc, m, mean), n_pos)
    acc = np.zeros(x2.shape[1])
    for n in range(n_batch):
        for k in range(acc.size):
            d = x2[n, k] - mu[k]
            acc[k] += d * d
    _channel_means(acc, m, var)
    r = np.empty(n_chan)
    for c in range(n_chan):
        r[c] = 1.0 / math.sqrt(var[c] + eps)
    return mu, _per_entry(r, n_pos)


@numba.njit(cache=True)
def batch_norm_kernel(x, eps, x_hat, mean, var):
    """x, x_hat: (N, C, L) C-contiguous; mean, var: (C,) float64, written (var biased)."""
    n_batch, size = x.shape[0], x.shape[1] * x.shape[2]
    mu, r = _statistics(x, eps, mean, var)
    x2, xh2 = x.reshape(n_batch, size), x_hat.reshape(n_batch, size)
    for n in range(n_batch):
        for k in range(size):
            xh2[n, k] = (x2[n, k] - mu[k]) * r[k]


@numba.njit(cache=True)
def batch_norm_affine_kernel(x, eps, weight, bias, x_hat, y, mean, var):
    """batch_norm_kernel, and y = x_hat * weight_c + bias_c in the same pass; weight, bias:
    (C,) in x's dtype, so the product and sum are rounded in that dtype exactly as NumPy's
    x_hat * weight + bias would be."""
    n_batch, n_chan, n_pos = x.shape
    size = n_chan * n_pos
    mu, r = _statistics(x, eps, mean, var)
    w, b = np.empty(size, x.dtype), np.empty(size, x.dtype)
    for c in range(n_chan):
        for q in range(n_pos):
            w[c * n_pos + q], b[c * n_pos + q] = weight[c], bias[c]
    x2, xh2, y2 = x.reshape(n_batch, size), x_hat.reshape(n_batch, size), y.reshape(n_batch, size)
    for n in range(n_batch):
        for k in range(size):
            xh2[n, k] = (x2[n, k] - mu[k]) * r[k]
            y2[n, k] = xh2[n, k] * w[k] + b[k]


@numba.njit(cache=True)
def batch_norm_grad_kernel(g, x_hat, r, dx):
    """g, x_hat, dx: (N, C, L) C-contiguous; r: (C,) float64. dx written (loops as above)."""
    n_batch, n_chan, n_pos = g.shape
    m, size = n_batch * n_pos, n_chan * n_pos
    g2, xh2 = g.reshape(n_batch, size), x_hat.reshape(n_batch, size)
    dx2 = dx.reshape(n_batch, size)
    acc_g, acc_gx = np.zeros(g2.shape[1]), np.zeros(g2.shape[1])
    for n in range(n_batch):
        for k in range(acc_g.size):
            acc_g[k] += g2[n, k]
            acc_gx[k] += g2[n, k] * xh2[n, k]
    g_mean = _per_entry(_channel_means(acc_g, m, np.empty(n_chan)), n_pos)
    gx_mean = _per_entry(_channel_means(acc_gx, m, np.empty(n_chan)), n_pos)
    r_k = _per_entry(r, n_pos)
    for n in range(n_batch):
        for k in range(acc_g.size):
            dx2[n, k] = r_k[k] * (g2[n, k] - g_mean[k] - xh2[n, k] * gx_mean[k])


@numba.njit(cache=True)
def batch_norm_affine_grad_kernel(g, x_hat, weight, r, dx, grad_w, grad_b):
    """The gradient of y = x_hat * w_c + b_c through batch norm, in the same two passes:
    grad_b[c] = sum of g, grad_w[c] = sum of g x_hat over channel c (float64), and
    dx = w_c r_c (g - <g>_c - x_hat <g x_hat>_c)  (<g w>_c = w_c <g>_c, w being constant over c).
    g, x_hat, dx: (N, C, L) C-contiguous; weight: (C,); r, grad_w, grad_b: (C,) float64."""
    n_batch, n_chan, n_pos = g.shape
    m, size = n_batch * n_pos, n_chan * n_pos
    g2, xh2 = g.reshape(n_batch, size), x_hat.reshape(n_batch, size)
    dx2 = dx.reshape(n_batch, size)
    acc_g, acc_gx = np.zeros(size), np.zeros(size)
    for n in range(n_batch):
        for k in range(size):
            acc_g[k] += g2[n, k]
            acc_gx[k] += g2[n, k] * xh2[n, k]
    _channel_means(acc_g, 1.0, grad_b)
    _channel_means(acc_gx, 1.0, grad_w)
    g_mean = _per_entry(grad_b / m, n_pos)
    gx_mean = _per_entry(grad_w / m, n_pos)
    wr = np.empty(n_chan)
    for c in range(n_chan):
        wr[c] = weight[c] * r[c]
    wr_k = _per_entry(wr, n_pos)
    for n in range(n_batch):
        for k in range(size):
            dx2[n, k] = wr_k[k] * (g2[n, k] - g_mean[k] - xh2[n, k] * gx_mean[k])


def _as_ncl(a, name, dtype=None):
    a = np.asarray(a)
    if a.ndim < 2 or a.dtype not in (np.float32, np.float64):
        raise ValueError(f"{name}: expected a float32/float64 (N, C, ...) array, got shape "
                         f"{a.shape} and dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=dtype).reshape(a.shape[0], a.shape[1], -1)


def batch_norm(x, eps=1e-5):
    """x: (N, C, ...) -> (x_hat like x, mean (C,), var (C,)), all in x's dtype; var biased."""
    x3 = _as_ncl(x, "batch_norm")
    if x3.shape[0] * x3.shape[2] < 1:
        raise ValueError(f"batch_norm: no entries per channel in shape {np.shape(x)}")
    x_hat = np.empty_like(x3)
    mean, var = np.empty(x3.shape[1]), np.empty(x3.shape[1])
    batch_norm_kernel(x3, eps, x_hat, mean, var)
    return x_hat.reshape(np.shape(x)), mean.astype(x3.dtype), var.astype(x3.dtype)


def batch_norm_affine(x, weight, bias, eps=1e-5):
    """x: (N, C, ...), weight, bias: (C,) -> (y, x_hat, mean, var): batch_norm(x) and
    y = x_hat * weight_c + bias_c (broadcast over channel axis 1), all in x's dtype."""
    x3 = _as_ncl(x, "batch_norm_affine")
    if x3.shape[0] * x3.shape[2] < 1:
        raise ValueError(f"batch_norm_affine: no entries per channel in shape {np.shape(x)}")
    if np.shape(weight) != (x3.shape[1],) or np.shape(bias) != (x3.shape[1],):
        raise ValueError(f"batch_norm_affine: weight {np.shape(weight)} and bias "
                         f"{np.shape(bias)} must be ({x3.shape[1]},) for x of shape {np.shape(x)}")
    x_hat, y = np.empty_like(x3), np.empty_like(x3)
    mean, var = np.empty(x3.shape[1]), np.empty(x3.shape[1])
    batch_norm_affine_kernel(x3, eps, np.asarray(weight, x3.dtype), np.asarray(bias, x3.dtype),
                             x_hat, y, mean, var)
    shape = np.shape(x)
    return y.reshape(shape), x_hat.reshape(shape), mean.astype(x3.dtype), var.astype(x3.dtype)


def batch_norm_grad(g, x_hat, var, eps=1e-5):
    """dL/dx of x_hat = batch_norm(x)[0], given g = dL/dx_hat (like x_hat) and var (C,)."""
    x3 = _as_ncl(x_hat, "batch_norm_grad")
    if np.shape(g) != np.shape(x_hat) or np.shape(var) != (x3.shape[1],):
        raise ValueError(f"batch_norm_grad: g {np.shape(g)}, x_hat {np.shape(x_hat)} and var "
                         f"{np.shape(var)} do not match")
    r = 1.0 / np.sqrt(np.asarray(var, np.float64) + eps)
    dx = np.empty_like(x3)
    batch_norm_grad_kernel(_as_ncl(g, "batch_norm_grad", x3.dtype), x3, r, dx)
    return dx.reshape(np.shape(x_hat))


def batch_norm_affine_grad(g, x_hat, weight, var, eps=1e-5):
    """Gradients of y = batch_norm(x)[0] * weight_c + bias_c, given g = dL/dy (like x_hat),
    x_hat, weight (C,) and var (C,) -> (dL/dx like x_hat, dL/dweight (C,), dL/dbias (C,)), in
    x_hat's dtype. One kernel for what took batch_norm_grad(g * w, ...) and two NumPy sums."""
    x3 = _as_ncl(x_hat, "batch_norm_affine_grad")
    channels = (x3.shape[1],)
    if np.shape(g) != np.shape(x_hat) or np.shape(var) != channels or np.shape(weight) != channels:
        raise ValueError(f"batch_norm_affine_grad: g {np.shape(g)}, x_hat {np.shape(x_hat)}, "
                         f"weight {np.shape(weight)} and var {np.shape(var)} do not match")
    r = 1.0 / np.sqrt(np.asarray(var, np.float64) + eps)
    dx, grad_w, grad_b = np.empty_like(x3), np.empty(channels), np.empty(channels)
    batch_norm_affine_grad_kernel(_as_ncl(g, "batch_norm_affine_grad", x3.dtype), x3,
                                  np.asarray(weight, np.float64), r, dx, grad_w, grad_b)
    return dx.reshape(np.shape(x_hat)), grad_w.astype(x3.dtype), grad_b.astype(x3.dtype)


# ----------------------------------------------------------------------------- NumPy twins

def batch_norm_numpy(x, eps=1e-5):
    """NumPy twin of `batch_norm`: the formulas over axes (0, 2, 3, ...), in float64."""
    axes = (0,) + tuple(range(2, x.ndim))
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=axes, keepdims=True)
    var = ((x64 - mean) ** 2).mean(axis=axes, keepdims=True)
    x_hat = (x64 - mean) / np.sqrt(var + eps)
    return x_hat.astype(x.dtype), mean.reshape(-1).astype(x.dtype), var.reshape(-1).astype(x.dtype)


def batch_norm_affine_numpy(x, weight, bias, eps=1e-5):
    """NumPy twin of `batch_norm_affine`."""
    x_hat, mean, var = batch_norm_numpy(x, eps)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return x_hat * weight.reshape(shape) + bias.reshape(shape), x_hat, mean, var


def batch_norm_grad_numpy(g, x_hat, var, eps=1e-5):
    """NumPy twin of `batch_norm_grad`."""
    axes = (0,) + tuple(range(2, x_hat.ndim))
    shape = (1, -1) + (1,) * (x_hat.ndim - 2)
    g64, xh = g.astype(np.float64), x_hat.astype(np.float64)
    r = 1 / np.sqrt(var.astype(np.float64).reshape(shape) + eps)
    dx = r * (g64 - g64.mean(axis=axes, keepdims=True)
              - xh * (g64 * xh).mean(axis=axes, keepdims=True))
    return dx.astype(x_hat.dtype)


def batch_norm_affine_grad_numpy(g, x_hat, weight, var, eps=1e-5):
    """NumPy twin of `batch_norm_affine_grad`."""
    axes = (0,) + tuple(range(2, x_hat.ndim))
    shape = (1, -1) + (1,) * (x_hat.ndim - 2)
    gw = g.astype(np.float64) * weight.astype(np.float64).reshape(shape)
    grad_x = batch_norm_grad_numpy(gw, x_hat, var, eps)
    grad_w = (g.astype(np.float64) * x_hat).sum(axis=axes)
    return grad_x, grad_w.astype(x_hat.dtype), g.astype(np.float64).sum(axis=axes).astype(x_hat.dtype)
