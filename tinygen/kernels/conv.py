"""Convolution kernels: unfold (im2col), fold (col2im) and the layout moves around the GEMM.

Floor: kernels (the bottom of the tower). Imports numpy and numba only; no Tensor in here.

A convolution is a matrix product once the input patches are laid out as columns:

    cols = unfold(x)                      x: (N, C, H, W) -> cols: (C*kh*kw, N*OH*OW)
    y    = w.reshape(O, C*kh*kw) @ cols   y: (O, N*OH*OW), one BLAS GEMM for the whole batch
    out  = cols_to_nchw(y, N, OH, OW, b)  out: (N, O, OH, OW)

Row r = c*kh*kw + i*kw + j of `cols` holds input channel c seen through kernel tap (i, j);
column q = n*OH*OW + oh*OW + ow is output pixel (oh, ow) of sample n:

    cols[r, q] = x[n, c, oh*sh - ph + i, ow*sw - pw + j]     (0 outside the input: zero padding)
    OH = (H + 2*ph - kh) // sh + 1,  OW = (W + 2*pw - kw) // sw + 1

`fold` is the exact adjoint of `unfold` (<unfold(x), c> == <x, fold(c)>): it scatter-adds every
column entry back onto the input pixel it was read from, dropping the padding. `nchw_to_cols` is
the adjoint of `cols_to_nchw` (without bias). Because these pairs are adjoint, the backward of each
is the other, which is what makes conv2d differentiable to any order (see tinygen/ops/conv.py).

Each numba kernel (`*_kernel`, @njit(cache=True), no allocation inside its loops) is called by a
small Python front end that checks shapes and allocates the output; each front end has a
plain-NumPy twin (`*_numpy`) that the tests compare it against (nchw_to_cols is itself plain
NumPy: a transposing copy beat the loop). unfold and fold work one (channel, sample) plane at
a time: the plane is copied into a zero-bordered buffer, so the inner loops need no bounds
tests, and a table of window offsets turns the (oh, ow) loops into one.
Matrix products are not done here: they go to BLAS via np.matmul, which uses every core.

Why these loops run on one thread. A conv layer alternates them with BLAS GEMMs, and OpenBLAS's
worker threads keep spinning at full speed for ~0.1 s after every GEMM (measured: 110 ms of CPU
during a 400 ms sleep after one matmul), so within a training step the other cores are taken.
Measured on 2 cores for the 64x64x14x14 -> 128 channel layer: numba.prange (OpenMP layer) made
unfold 5.9 ms instead of 3.3 ms right after a GEMM, and a pool of threads splitting the planes
left the whole forward+backward unchanged (22-25 ms either way).
"""
import numba
import numpy as np

_FLOATS = (np.float32, np.float64)


def _pair(v, name):
    """int or pair of ints -> (a, b); the usual PyTorch convention for stride/padding."""
    a, b = (v, v) if np.ndim(v) == 0 else tuple(v)
    if int(a) != a or int(b) != b:
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    return int(a), int(b)


def conv_output_size(h, w, kh, kw, stride, padding):
    """(OH, OW) of a convolution: OH = (H + 2*ph - kh) // sh + 1 (same for W)."""
    (sh, sw), (ph, pw) = _pair(stride, "stride"), _pair(padding, "padding")
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def _check_geometry(x_shape, kh, kw, stride, padding):
    """Validate an unfold/fold geometry; return (sh, sw, ph, pw, OH, OW)."""
    if len(x_shape) != 4:
        raise ValueError(f"expected an (N, C, H, W) input, got shape {tuple(x_shape)}")
    (sh, sw), (ph, pw) = _pair(stride, "stride"), _pair(padding, "padding")
    if kh < 1 or kw < 1 or sh < 1 or sw < 1 or ph < 0 or pw < 0:
        raise ValueError(f"need kernel >= 1, stride >= 1, padding >= 0; got kernel ({kh}, {kw}), "
                         f"stride ({sh}, {sw}), padding ({ph}, {pw})")
    _, _, h, w = x_shape
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ValueError(f"kernel ({kh}, {kw}) is larger than the padded input "
                         f"({h + 2 * ph}, {w + 2 * pw}) (input {h}x{w}, padding ({ph}, {pw}))")
    oh, ow = conv_output_size(h, w, kh, kw, (sh, sw), (ph, pw))
    return sh, sw, ph, pw, oh, ow


def _check_float(a, name):
    if a.dtype not in _FLOATS:
        raise TypeError(f"{name} must be float32 or float64, got {a.dtype}")


# ----------------------------------------------------------------------------- unfold (im2col)

@numba.njit(cache=True)
def _window_offsets(oh_n, ow_n, sh, sw, wp):
    """off[oh*OW + ow] = oh*sh*wp + ow*sw: where output pixel (oh, ow) reads, in a padded plane
    of width wp flattened, relative to the tap (i, j) at flat index i*wp + j."""
    off = np.empty(oh_n * ow_n, np.int64)
    for oh in range(oh_n):
        for ow in range(ow_n):
            off[oh * ow_n + ow] = oh * sh * wp + ow * sw
    return off


@numba.njit(cache=True, inline="always")
def _unfold_task(task, x, kh, kw, ph, pw, cols, pad, off):
    """Task (c, n) = divmod(task, N): copy plane x[n, c] into the middle of `pad` (whose zero
    border is the padding), then fill columns n*L:(n+1)*L of the kh*kw rows of channel c."""
    n_batch, _, h, w = x.shape
    c, n = task // n_batch, task % n_batch
    wp, plane = pad.shape[1], off.size
    for a in range(h):
        for b in range(w):
            pad[ph + a, pw + b] = x[n, c, a, b]
    flat = pad.reshape(pad.size)
    for i in range(kh):
        for j in range(kw):
            dst = cols[(c * kh + i) * kw + j, n * plane:(n + 1) * plane]
            tap = flat[i * wp + j:]
            for q in range(plane):
                dst[q] = tap[off[q]]


@numba.njit(cache=True)
def unfold_kernel(x, kh, kw, sh, sw, ph, pw, cols):
    """cols[c*kh*kw + i*kw + j, n*OH*OW + oh*OW + ow] = x[n, c, oh*sh-ph+i, ow*sw-pw+j] (0 if outside).

    x: (N, C, H, W) C-contiguous; cols: (C*kh*kw, N*OH*OW) preallocated, every entry written.
    One task per (channel, sample) plane; allocations (a padded plane, the offsets) happen once.
    """
    n_batch, n_chan, h, w = x.shape
    pad = np.zeros((h + 2 * ph, w + 2 * pw), x.dtype)
    off = _window_offsets((h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1, sh, sw,
                          w + 2 * pw)
    for task in range(n_chan * n_batch):
        _unfold_task(task, x, kh, kw, ph, pw, cols, pad, off)


def unfold(x, kh, kw, stride=1, padding=0):
    """im2col. x: (N, C, H, W) float32/float64 -> cols: (C*kh*kw, N*OH*OW), same dtype.

    cols[c*kh*kw + i*kw + j, n*OH*OW + oh*OW + ow] = x_padded[n, c, oh*sh + i, ow*sw + j],
    zero padding, OH = (H + 2*ph - kh)//sh + 1. stride, padding: int or (h, w) pair.
    """
    x = np.asarray(x)
    _check_float(x, "unfold input")
    sh, sw, ph, pw, oh, ow = _check_geometry(x.shape, kh, kw, stride, padding)
    n, c = x.shape[:2]
    cols = np.empty((c * kh * kw, n * oh * ow), dtype=x.dtype)
    unfold_kernel(np.ascontiguousarray(x), kh, kw, sh, sw, ph, pw, cols)
    return cols


def _tap_view(xp, i, j, sh, sw, oh, ow):
    """The (N, C, OH, OW) strided view of padded xp read by kernel tap (i, j)."""
    return xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]


def unfold_numpy(x, kh, kw, stride=1, padding=0):
    """NumPy twin of `unfold`: pad, then copy one strided view per kernel tap (i, j)."""
    x = np.asarray(x)
    sh, sw, ph, pw, oh, ow = _check_geometry(x.shape, kh, kw, stride, padding)
    n, c = x.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((c, kh, kw, n, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = _tap_view(xp, i, j, sh, sw, oh, ow).transpose(1, 0, 2, 3)
    return cols.reshape(c * kh * kw, n * oh * ow)


# ----------------------------------------------------------------------------- fold (col2im)

@numba.njit(cache=True, inline="always")
def _fold_task(task, cols, kh, kw, ph, pw, x, pad, off):
    """Task (c, n) = divmod(task, N): add the kh*kw row segments n*L:(n+1)*L of channel c into
    the zeroed plane `pad`, then copy its middle (the padding dropped) to x[n, c]."""
    n_batch, _, h, w = x.shape
    c, n = task // n_batch, task % n_batch
    wp, plane = pad.shape[1], off.size
    flat = pad.reshape(pad.size)
    flat[:] = 0
    for i in range(kh):
        for j in range(kw):
            src = cols[(c * kh + i) * kw + j, n * plane:(n + 1) * plane]
            tap = flat[i * wp + j:]
            for q in range(plane):
                tap[off[q]] += src[q]
    for a in range(h):
        for b in range(w):
            x[n, c, a, b] = pad[ph + a, pw + b]


@numba.njit(cache=True)
def fold_kernel(cols, kh, kw, sh, sw, ph, pw, x):
    """x[n, c, oh*sh-ph+i, ow*sw-pw+j] += cols[c*kh*kw + i*kw + j, n*OH*OW + oh*OW + ow].

    The adjoint of unfold_kernel. cols: (C*kh*kw, N*OH*OW) C-contiguous; x: (N, C, H, W)
    preallocated, every entry overwritten; entries landing in the padding are dropped.
    One task per (channel, sample) plane; allocations happen once, before the loop.
    """
    n_batch, n_chan, h, w = x.shape
    pad = np.empty((h + 2 * ph, w + 2 * pw), x.dtype)
    off = _window_offsets((h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1, sh, sw,
                          w + 2 * pw)
    for task in range(n_chan * n_batch):
        _fold_task(task, cols, kh, kw, ph, pw, x, pad, off)


def fold(cols, x_shape, kh, kw, stride=1, padding=0):
    """col2im, the adjoint of `unfold`. cols: (C*kh*kw, N*OH*OW) -> x: x_shape = (N, C, H, W).

    Every column entry is added to the input pixel `unfold` read it from; padding is dropped.
    """
    cols = np.asarray(cols)
    _check_float(cols, "fold input")
    sh, sw, ph, pw, oh, ow = _check_geometry(x_shape, kh, kw, stride, padding)
    n, c, h, w = x_shape
    if cols.shape != (c * kh * kw, n * oh * ow):
        raise ValueError(f"fold: cols shape {cols.shape} does not match x_shape {tuple(x_shape)} "
                         f"with kernel ({kh}, {kw}): expected {(c * kh * kw, n * oh * ow)}")
    x = np.empty(tuple(x_shape), dtype=cols.dtype)
    fold_kernel(np.ascontiguousarray(cols), kh, kw, sh, sw, ph, pw, x)
    return x


def fold_numpy(cols, x_shape, kh, kw, stride=1, padding=0):
    """NumPy twin of `fold`: add each tap's block into a strided view of the padded image."""
    sh, sw, ph, pw, oh, ow = _check_geometry(x_shape, kh, kw, stride, padding)
    n, c, h, w = x_shape
    cols = np.asarray(cols).reshape(c, kh, kw, n, oh, ow)
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            _tap_view(xp, i, j, sh, sw, oh, ow)[...] += cols[:, i, j].transpose(1, 0, 2, 3)
    return xp[:, :, ph:ph + h, pw:pw + w].copy()


# ----------------------------------------------------------------------------- layout moves

@numba.njit(cache=True)
def cols_to_nchw_kernel(y, bias, out):
    """out[n, o, :, :] = y[o, n*L:(n+1)*L] + bias[o], L = OH*OW.

    y: (O, N*L) C-contiguous; bias: (O,); out: (N, O, OH, OW) preallocated, every entry written.
    """
    n_batch, n_out = out.shape[:2]
    plane = out.shape[2] * out.shape[3]
    for task in range(n_batch * n_out):
        n, o = task // n_out, task % n_out
        src = y[o, n * plane:(n + 1) * plane]
        dst = out[n, o].reshape(plane)
        b = bias[o]
        for q in range(plane):
            dst[q] = src[q] + b


def cols_to_nchw(y, n, oh, ow, bias=None):
    """GEMM output (O, N*OH*OW) (+ bias (O,)) -> image batch (N, O, OH, OW), in one pass."""
    y = np.asarray(y)
    _check_float(y, "cols_to_nchw input")
    if y.ndim != 2 or y.shape[1] != n * oh * ow:
        raise ValueError(f"cols_to_nchw: expected shape (O, {n * oh * ow}), got {y.shape}")
    bias = np.zeros(y.shape[0], y.dtype) if bias is None else np.asarray(bias)
    if bias.shape != (y.shape[0],) or bias.dtype != y.dtype:
        raise ValueError(f"bias must be ({y.shape[0]},) {y.dtype}, got {bias.shape} {bias.dtype}")
    out = np.empty((n, y.shape[0], oh, ow), dtype=y.dtype)
    cols_to_nchw_kernel(np.ascontiguousarray(y), bias, out)
    return out


def cols_to_nchw_numpy(y, n, oh, ow, bias=None):
    """NumPy twin of `cols_to_nchw`."""
    out = y.reshape(y.shape[0], n, oh, ow).transpose(1, 0, 2, 3)
    return (out if bias is None else out + bias[:, None, None]).copy()


def nchw_to_cols(x):
    """Image batch (N, C, H, W) -> (C, N*H*W): the adjoint (and inverse) of `cols_to_nchw`.

    y[c, n*L:(n+1)*L] = x[n, c].ravel(), L = H*W. Plain NumPy (a transposing copy): it beat a
    numba loop of plane copies, 0.30 vs 0.64 ms for 64x64x14x14 float32 (one thread).
    """
    x = np.asarray(x)
    _check_float(x, "nchw_to_cols input")
    if x.ndim != 4:
        raise ValueError(f"expected an (N, C, H, W) input, got shape {x.shape}")
    n, c, h, w = x.shape
    return np.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(c, n * h * w)


def nchw_to_cols_numpy(x):
    """Reference twin of `nchw_to_cols`, written as its definition: row c is channel c of every
    sample, one sample after the other."""
    return np.stack([np.concatenate([plane.ravel() for plane in x[:, c]])
                     for c in range(x.shape[1])])
