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
tests, and a small buffer sorted by stride phase makes each kernel tap's block one contiguous
run (see the unfold section below).
Matrix products are not done here: they go to BLAS via np.matmul, which uses every core.

Why these loops run on one thread. A conv layer alternates them with BLAS GEMMs, and OpenBLAS's
worker threads keep spinning after every GEMM, so within a training step the other cores are
taken: numba.prange and a thread pool were measured no faster (benchmarks/RESULTS.md).
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
#
# Why the loops look like this. The kernels work one (channel, sample) plane at a time, so the
# plane's small buffers stay in L1 cache while its kh*kw row segments of cols are written (or
# read). Tap (i, j) reads the padded plane at rows oh*sh + i and columns ow*sw + j: a strided
# (OH, OW) window. One more small buffer, `taps`, turns each window into a contiguous run:
#
#     taps[j, (a*U + u)*OW + ow] = pad[u*sh + a, ow*sw + j]     a < sh,  u < U = (kh-1)//sh + OH
#
# taps[j] is what the column tap j sees, its rows sorted by row phase a = y mod sh (for s=2: the
# even rows y = 0, 2, 4, ... then the odd ones). Tap (i, j) reads rows oh*sh + i, which are the
# OH consecutive rows u = i//sh ... i//sh + OH - 1 of phase a = i % sh, so its block is the run
#
#     taps[j, (a*U + i//sh)*OW : (a*U + i//sh + OH)*OW],   a = i % sh.
#
# unfold = (1) copy the plane into pad, whose zero border is the padding; (2) fill taps through a
# table of pad indices (kw*sh*U*OW reads, about half of cols' kh*kw*OH*OW for k=4, s=2);
# (3) copy the kh*kw runs into cols. fold is the same three steps transposed, in reverse order.
# numba detail: the table is uint64 because numba tests every signed index for < 0 (a negative
# index counts from the end), which costs a branch per read; range() counters it can prove >= 0.
#
# This layout replaced a table of window offsets per output pixel (read or scattered to once per
# tap) and is ~1.4x faster; fold as a pure gather was tried and not kept (the figures are in
# benchmarks/RESULTS.md).

@numba.njit(cache=True)
def _phase_table(hp, wp, sh, sw, u_n, ow_n):
    """table[(a*U + u)*OW + ow] = (u*sh + a)*wp + ow*sw: flat index of pad[u*sh + a, ow*sw]
    (add j for column tap j). Rows past the bottom, which no tap reads, repeat the last row."""
    table = np.empty(sh * u_n * ow_n, np.uint64)
    for a in range(sh):
        for u in range(u_n):
            y = min(u * sh + a, hp - 1)
            for ow in range(ow_n):
                table[(a * u_n + u) * ow_n + ow] = y * wp + ow * sw
    return table


@numba.njit(cache=True)
def unfold_kernel(x, kh, kw, sh, sw, ph, pw, cols):
    """cols[c*kh*kw + i*kw + j, n*OH*OW + oh*OW + ow] = x[n, c, oh*sh-ph+i, ow*sw-pw+j] (0 if outside).

    x: (N, C, H, W) C-contiguous; cols: (C*kh*kw, N*OH*OW) preallocated, every entry written.
    One (channel, sample) plane at a time, so pad and taps (see above) stay in L1 cache while
    the plane's kh*kw runs are written to cols; buffers are allocated once, before the loop.
    """
    n_batch, n_chan, h, w = x.shape
    hp, wp = h + 2 * ph, w + 2 * pw
    oh_n, ow_n = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    u_n, plane = (kh - 1) // sh + oh_n, oh_n * ow_n
    pad = np.zeros((hp, wp), x.dtype)                  # its border stays 0: the padding
    pad_flat = pad.reshape(pad.size)
    table = _phase_table(hp, wp, sh, sw, u_n, ow_n)
    taps = np.empty((kw, table.size), x.dtype)
    for c in range(n_chan):
        for n in range(n_batch):
            for a in range(h):                         # (1) the plane into pad's middle
                src, dst = x[n, c, a], pad[ph + a, pw:]
                for b in range(w):
                    dst[b] = src[b]
            for j in range(kw):                        # (2) what column tap j sees
                src, dst = pad_flat[j:], taps[j]
                for r in range(table.size):
                    dst[r] = src[table[r]]
            for i in range(kh):                        # (3) one contiguous run per tap
                for j in range(kw):
                    src = taps[j, ((i % sh) * u_n + i // sh) * ow_n:]
                    dst = cols[(c * kh + i) * kw + j, n * plane:(n + 1) * plane]
                    for q in range(plane):
                        dst[q] = src[q]


def unfold(x, kh, kw, stride=1, padding=0):
    """im2col. x: (N, C, H, W) float32/float64 -> cols: (C*kh*kw, N*OH*OW), same dtype (a
    new C-contiguous array, or a view of x when the kernel covers the input: _covers_input).

    cols[c*kh*kw + i*kw + j, n*OH*OW + oh*OW + ow] = x_padded[n, c, oh*sh + i, ow*sw + j],
    zero padding, OH = (H + 2*ph - kh)//sh + 1. stride, padding: int or (h, w) pair.
    """
    x = np.asarray(x)
    _check_float(x, "unfold input")
    sh, sw, ph, pw, oh, ow = _check_geometry(x.shape, kh, kw, stride, padding)
    n, c = x.shape[:2]
    if _covers_input(x.shape, kh, kw, ph, pw):
        return x.reshape(n, c * kh * kw).T  # a transposed view: BLAS reads it as it is
    cols = np.empty((c * kh * kw, n * oh * ow), dtype=x.dtype)
    unfold_kernel(np.ascontiguousarray(x), kh, kw, sh, sw, ph, pw, cols)
    return cols


def _covers_input(x_shape, kh, kw, ph, pw):
    """Whether the kernel is the whole unpadded input (OH = OW = 1, e.g. a DCGAN's 4x4 -> 1x1
    last layer and its 1x1 -> 4x4 first one). Then column n is sample n's pixels in (c, i, j)
    order: unfold is the transpose of x seen as (N, C*kh*kw), returned as a view (the GEMM
    takes a transposed operand at no cost, a transposing copy was slow), and fold is its
    inverse, a transposing copy. The plane loops would pay their per-plane cost for one output
    pixel (benchmarks/RESULTS.md)."""
    return (ph, pw) == (0, 0) and tuple(x_shape[2:]) == (kh, kw)


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

@numba.njit(cache=True)
def fold_kernel(cols, kh, kw, sh, sw, ph, pw, x):
    """x[n, c, oh*sh-ph+i, ow*sw-pw+j] += cols[c*kh*kw + i*kw + j, n*OH*OW + oh*OW + ow].

    The adjoint of unfold_kernel, its three steps transposed and in reverse order: (3) add each
    tap's run into the zeroed taps buffer, (2) add taps[j] into the zeroed pad through the same
    table (a scatter-add: two taps can reach one pixel), (1) copy pad's middle to x (entries in
    the padding are dropped). cols: (C*kh*kw, N*OH*OW) C-contiguous; x: (N, C, H, W)
    preallocated, every entry overwritten. One (channel, sample) plane at a time.
    """
    n_batch, n_chan, h, w = x.shape
    hp, wp = h + 2 * ph, w + 2 * pw
    oh_n, ow_n = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    u_n, plane = (kh - 1) // sh + oh_n, oh_n * ow_n
    pad = np.empty((hp, wp), x.dtype)
    pad_flat = pad.reshape(pad.size)
    table = _phase_table(hp, wp, sh, sw, u_n, ow_n)
    taps = np.empty((kw, table.size), x.dtype)
    taps_flat = taps.reshape(taps.size)
    for c in range(n_chan):
        for n in range(n_batch):
            for r in range(taps_flat.size):
                taps_flat[r] = 0
            for i in range(kh):                        # (3) transposed
                for j in range(kw):
                    src = cols[(c * kh + i) * kw + j, n * plane:(n + 1) * plane]
                    dst = taps[j, ((i % sh) * u_n + i // sh) * ow_n:]
                    for q in range(plane):
                        dst[q] += src[q]
            for r in range(pad_flat.size):
                pad_flat[r] = 0
            for j in range(kw):                        # (2) transposed
                src, dst = taps[j], pad_flat[j:]
                for r in range(table.size):
                    dst[table[r]] += src[r]
            for a in range(h):                         # (1) transposed
                src, dst = pad[ph + a, pw:], x[n, c, a]
                for b in range(w):
                    dst[b] = src[b]


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
    if _covers_input(x_shape, kh, kw, ph, pw):
        return np.ascontiguousarray(cols.T).reshape(tuple(x_shape))
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
    """out[n, o, q] = y[o, n*L + q] + bias[o], L = OH*OW.

    y: (O, N*L) C-contiguous; bias: (O,); out: (N, O, L), the (N, O, OH, OW) output seen with
    its image planes flattened, preallocated, every entry written. Plain indexing, no slice or
    reshape per plane: making a view inside the loop cost several times the copy itself for
    small planes (benchmarks/RESULTS.md).
    """
    n_batch, n_out, plane = out.shape
    for n in range(n_batch):
        for o in range(n_out):
            b = bias[o]
            for q in range(plane):
                out[n, o, q] = y[o, n * plane + q] + b


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
    cols_to_nchw_kernel(np.ascontiguousarray(y), bias, out.reshape(n, y.shape[0], oh * ow))
    return out


def cols_to_nchw_numpy(y, n, oh, ow, bias=None):
    """NumPy twin of `cols_to_nchw`."""
    out = y.reshape(y.shape[0], n, oh, ow).transpose(1, 0, 2, 3)
    return (out if bias is None else out + bias[:, None, None]).copy()


def nchw_to_cols(x):
    """Image batch (N, C, H, W) -> (C, N*H*W): the adjoint (and inverse) of `cols_to_nchw`.

    y[c, n*L:(n+1)*L] = x[n, c].ravel(), L = H*W. Plain NumPy (a transposing copy): it beat a
    numba loop of plane copies (benchmarks/RESULTS.md).
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
