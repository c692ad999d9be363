"""Kernels floor: every numba kernel equals its NumPy twin, and the twins equal the definitions.

Shapes, strides, paddings, dtypes and memory layouts are drawn by hypothesis; sizes stay tiny so
the suite (numba compilation included) runs in seconds.
"""
import os
import platform
import resource
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from tinygen import kernels as K

DTYPES = st.sampled_from([np.float32, np.float64])
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def floats_array(draw, shape, dtype, lo=-5.0, hi=5.0):
    """A drawn array, sometimes handed over as a non-contiguous (strided or transposed) view."""
    layout = draw(st.sampled_from(["c", "strided", "fortran"]))
    elems = st.floats(lo, hi, width=32)
    if layout == "strided":
        big = draw(hnp.arrays(dtype, tuple(2 * s for s in shape), elements=elems))
        return np.asarray(big[tuple(slice(None, None, 2) for _ in shape)])
    a = draw(hnp.arrays(dtype, shape, elements=elems))
    return np.array(a, order="F") if layout == "fortran" else a


@st.composite
def conv_geometry(draw):
    """(x, kh, kw, stride, padding) with the kernel fitting in the padded input."""
    dtype = draw(DTYPES)
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.sampled_from([(sh, sw), sh]))       # an int means the same on both axes
    padding = draw(st.sampled_from([(ph, pw), ph]))
    pw = padding[1] if isinstance(padding, tuple) else ph
    h = draw(st.integers(max(1, kh - 2 * ph), 8))
    w = draw(st.integers(max(1, kw - 2 * pw), 8))
    x = floats_array(draw, (n, c, h, w), dtype)
    return x, kh, kw, stride, padding


def unfold_by_definition(x, kh, kw, stride, padding):
    """cols[c*kh*kw + i*kw + j, n*OH*OW + oh*OW + ow] = x[n, c, oh*sh-ph+i, ow*sw-pw+j] or 0."""
    (sh, sw), (ph, pw) = K.conv._pair(stride, "s"), K.conv._pair(padding, "p")
    n_, c_, h, w = x.shape
    oh_n, ow_n = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    cols = np.zeros((c_ * kh * kw, n_ * oh_n * ow_n), x.dtype)
    for n in range(n_):
        for c in range(c_):
            for i in range(kh):
                for j in range(kw):
                    for oh in range(oh_n):
                        for ow in range(ow_n):
                            hh, ww = oh * sh - ph + i, ow * sw - pw + j
                            if 0 <= hh < h and 0 <= ww < w:
                                cols[c * kh * kw + i * kw + j,
                                     n * oh_n * ow_n + oh * ow_n + ow] = x[n, c, hh, ww]
    return cols


# ----------------------------------------------------------------------------- unfold / fold

@given(conv_geometry())
def test_unfold_matches_twin_and_sliding_window_definition(geom):
    x, kh, kw, stride, padding = geom
    cols = K.unfold(x, kh, kw, stride, padding)
    assert cols.dtype == x.dtype
    np.testing.assert_array_equal(cols, K.unfold_numpy(x, kh, kw, stride, padding))
    np.testing.assert_array_equal(cols, unfold_by_definition(x, kh, kw, stride, padding))


@given(conv_geometry(), st.data())
def test_fold_matches_twin_and_is_adjoint_of_unfold(geom, data):
    x, kh, kw, stride, padding = geom
    shape = K.unfold(x, kh, kw, stride, padding).shape
    c = floats_array(data.draw, shape, x.dtype)
    folded = K.fold(c, x.shape, kh, kw, stride, padding)
    assert folded.shape == x.shape and folded.dtype == x.dtype
    np.testing.assert_allclose(folded, K.fold_numpy(c, x.shape, kh, kw, stride, padding),
                               **TOL[x.dtype.type])
    lhs = np.vdot(K.unfold(x, kh, kw, stride, padding).astype(np.float64), c)
    rhs = np.vdot(x.astype(np.float64), folded.astype(np.float64))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-5 if x.dtype == np.float32 else 1e-12, atol=1e-4)


def test_fold_counts_how_often_each_pixel_is_read():
    """fold(ones) = the number of windows covering each pixel: 1 2 2 1 for k=2, s=1 on width 4."""
    x_shape = (1, 1, 1, 4)
    counts = K.fold(np.ones((2, 3)), x_shape, 1, 2, 1, 0)
    np.testing.assert_array_equal(counts[0, 0, 0], [1, 2, 2, 1])


@pytest.mark.parametrize("x_shape, kh, kw, stride, padding", [
    ((2, 3, 11, 11), 4, 4, 2, 0),  # DCGAN's kernel and stride: the last row and column unread
    ((1, 2, 7, 8), 1, 2, 3, 0),    # stride > kernel: rows between the windows, unread
    ((1, 1, 10, 10), 3, 2, (3, 2), (0, 1)),
])
def test_unfold_fold_where_windows_skip_pixels(x_shape, kh, kw, stride, padding):
    """Pixels between or after the windows: unfold never reads them, fold leaves them 0."""
    x = np.random.default_rng(0).standard_normal(x_shape)
    cols = K.unfold(x, kh, kw, stride, padding)
    np.testing.assert_array_equal(cols, unfold_by_definition(x, kh, kw, stride, padding))
    counts = K.fold(np.ones_like(cols), x_shape, kh, kw, stride, padding)
    np.testing.assert_array_equal(counts, K.fold_numpy(np.ones_like(cols), x_shape, kh, kw,
                                                       stride, padding))
    assert (counts == 0).any() and counts.max() >= 1


@pytest.mark.parametrize("x_shape, kh, kw, stride", [
    ((3, 5, 4, 4), 4, 4, 1),   # a DCGAN's last layer (4x4 -> 1x1), and its first one's fold
    ((2, 2, 3, 5), 3, 5, 2),   # non-square; the stride does not matter for one window
])
def test_unfold_fold_when_the_kernel_covers_the_input(x_shape, kh, kw, stride):
    """The transpose path (OH = OW = 1, no padding) agrees with the definition and the twins,
    and fold stays the adjoint of unfold."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(x_shape).astype(np.float32)
    cols = K.unfold(x, kh, kw, stride, 0)
    assert cols.shape == (x_shape[1] * kh * kw, x_shape[0])
    np.testing.assert_array_equal(cols, unfold_by_definition(x, kh, kw, stride, 0))
    np.testing.assert_array_equal(cols, K.unfold_numpy(x, kh, kw, stride, 0))
    c = rng.standard_normal(cols.shape).astype(np.float32)
    folded = K.fold(c, x_shape, kh, kw, stride, 0)
    assert folded.flags.c_contiguous
    np.testing.assert_array_equal(folded, K.fold_numpy(c, x_shape, kh, kw, stride, 0))
    np.testing.assert_allclose(np.vdot(cols.astype(np.float64), c),
                               np.vdot(x.astype(np.float64), folded), rtol=1e-5)


@given(st.data())
def test_layout_moves_match_twins_and_are_adjoint(data):
    dtype = data.draw(DTYPES)
    n, o, oh, ow = (data.draw(st.integers(1, 4)) for _ in range(4))
    y = floats_array(data.draw, (o, n * oh * ow), dtype)
    bias = data.draw(hnp.arrays(dtype, (o,), elements=st.floats(-2, 2, width=32)))
    img = K.cols_to_nchw(y, n, oh, ow, bias)
    np.testing.assert_array_equal(img, K.cols_to_nchw_numpy(y, n, oh, ow, bias))
    np.testing.assert_array_equal(K.cols_to_nchw(y, n, oh, ow), K.cols_to_nchw_numpy(y, n, oh, ow))
    g = floats_array(data.draw, (n, o, oh, ow), dtype)
    back = K.nchw_to_cols(g)
    np.testing.assert_array_equal(back, K.nchw_to_cols_numpy(g))
    np.testing.assert_array_equal(K.nchw_to_cols(K.cols_to_nchw(y, n, oh, ow)), y)
    # Adjointness <cols_to_nchw(y), g> = <y, nchw_to_cols(g)>, summed in float64: the two sides
    # add the same products in different orders, so a float32 sum near 0 cancels differently.
    lhs = np.vdot(K.cols_to_nchw(y, n, oh, ow).astype(np.float64), g.astype(np.float64))
    rhs = np.vdot(y.astype(np.float64), back.astype(np.float64))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-9)


def test_conv_kernels_reject_bad_input():
    x = np.zeros((1, 1, 3, 3), np.float32)
    with pytest.raises(ValueError, match="larger than the padded input"):
        K.unfold(x, 4, 4, 1, 0)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        K.unfold(np.zeros((3, 3), np.float32), 2, 2)
    with pytest.raises(TypeError, match="float32 or float64"):
        K.unfold(x.astype(np.int64), 2, 2)
    with pytest.raises(ValueError, match="stride"):
        K.unfold(x, 2, 2, stride=0)
    with pytest.raises(ValueError, match="does not match x_shape"):
        K.fold(np.zeros((4, 5), np.float32), (1, 1, 3, 3), 2, 2)


# ----------------------------------------------------------------------------- elementwise

UNARY = [(K.sigmoid, K.sigmoid_numpy), (K.softplus, K.softplus_numpy),
         (K.log_sigmoid, K.log_sigmoid_numpy)]


@st.composite
def float_arrays(draw, n=1, lo=-30.0, hi=30.0):
    dtype = draw(DTYPES)
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=5))
    return [floats_array(draw, shape, dtype, lo, hi) for _ in range(n)]


@pytest.mark.parametrize("kernel, twin", UNARY, ids=["sigmoid", "softplus", "log_sigmoid"])
@given(arrays=float_arrays())
def test_unary_kernels_match_twins(kernel, twin, arrays):
    (x,) = arrays
    out = kernel(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_allclose(out, twin(x), **TOL[x.dtype.type])


@given(arrays=float_arrays(n=2))
def test_bce_with_logits_matches_twin(arrays):
    x, t = arrays
    t = (np.tanh(t) + 1) / 2                   # targets in [0, 1]
    out = K.bce_with_logits(x, t)
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_allclose(out, K.bce_with_logits_numpy(x, t), **TOL[x.dtype.type])


def test_elementwise_twins_equal_the_naive_formulas_where_those_are_safe():
    x = np.linspace(-20, 20, 101)
    t = np.linspace(0, 1, 101)
    sig = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(K.sigmoid_numpy(x), sig, rtol=1e-12)
    np.testing.assert_allclose(K.softplus_numpy(x), np.log1p(np.exp(x)), rtol=1e-12)
    np.testing.assert_allclose(K.log_sigmoid_numpy(x), -np.log1p(np.exp(-x)), rtol=1e-12)
    bce = -(t * np.log(sig) + (1 - t) * np.log(1 - sig))
    np.testing.assert_allclose(K.bce_with_logits_numpy(x, t), bce, rtol=1e-7, atol=1e-9)


@given(arrays=float_arrays(n=2, lo=-10, hi=10))
def test_sigmoid_minus_target_is_the_derivative_of_bce(arrays):
    x, t = (a.astype(np.float64) for a in arrays)
    t = (np.tanh(t) + 1) / 2
    eps = 1e-6
    numeric = (K.bce_with_logits(x + eps, t) - K.bce_with_logits(x - eps, t)) / (2 * eps)
    sig = K.bce_with_logits_and_sigmoid(x, t)[1]
    np.testing.assert_allclose(sig - t, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softplus_keeps_relative_accuracy_where_log_of_one_plus_e_rounds_to_zero(dtype):
    """The kernels take log(1 + e) from NumPy's log and correct it to log1p(e); without the
    correction softplus(-20) = log(1 + 2e-9) would be 0 in float32."""
    x = np.array([-5.0, -12.0, -17.0, -20.0, -40.0, -80.0], dtype)
    exact = np.log1p(np.exp(x.astype(np.float64)))
    ulps = dict(rtol=4 * np.finfo(dtype).eps, atol=0)
    np.testing.assert_allclose(K.softplus(x), exact, **ulps)
    np.testing.assert_allclose(K.log_sigmoid(-x), -exact, **ulps)
    np.testing.assert_allclose(K.bce_with_logits(x, np.zeros_like(x)), exact, **ulps)


@given(arrays=float_arrays(n=2))
def test_bce_with_logits_and_sigmoid_returns_the_loss_and_the_sigmoid(arrays):
    x, t = arrays
    t = (np.tanh(t) + 1) / 2
    loss, sig = K.bce_with_logits_and_sigmoid(x, t)
    assert sig.shape == loss.shape == x.shape and sig.dtype == loss.dtype == x.dtype
    np.testing.assert_allclose(loss, K.bce_with_logits_numpy(x, t), **TOL[x.dtype.type])
    np.testing.assert_allclose(sig, K.sigmoid_numpy(x), **TOL[x.dtype.type])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elementwise_kernels_stay_finite_and_exact_at_plus_minus_1000(dtype):
    x = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0], dtype)
    t = np.array([1.0, 0.0, 0.5, 1.0, 0.0], dtype)
    grad = K.bce_with_logits_and_sigmoid(x, t)[1] - t     # d bce / dx
    for out in (K.sigmoid(x), K.softplus(x), K.log_sigmoid(x), K.bce_with_logits(x, t), grad):
        assert out.dtype == dtype and np.all(np.isfinite(out))
    np.testing.assert_array_equal(K.sigmoid(x)[[0, 4]], [0.0, 1.0])
    np.testing.assert_allclose(K.softplus(x)[[0, 4]], [0.0, 1000.0])
    np.testing.assert_allclose(K.log_sigmoid(x)[[0, 4]], [-1000.0, 0.0])
    np.testing.assert_allclose(K.bce_with_logits(x, t)[[0, 4]], [1000.0, 1000.0])
    np.testing.assert_allclose(grad[[0, 4]], [-1.0, 1.0])


@given(arrays=float_arrays(n=2), slope=st.sampled_from([0.0, 0.01, 0.2, 1.0, -0.5, 3.0]))
def test_leaky_relu_and_grad_match_twins_and_the_definition(arrays, slope):
    x, g = arrays
    out = K.leaky_relu(x, slope)
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(out, K.leaky_relu_numpy(x, slope))
    definition = [v if v > 0 else x.dtype.type(slope) * v for v in x.flat]
    np.testing.assert_array_equal(out.reshape(-1), np.array(definition, x.dtype))
    grad = K.leaky_relu_grad(x, g, slope)
    assert grad.shape == x.shape and grad.dtype == x.dtype
    np.testing.assert_array_equal(grad, K.leaky_relu_grad_numpy(x, g, slope))


@given(arrays=float_arrays(n=1))
def test_relu_is_bit_for_bit_np_maximum(arrays):
    x, = arrays
    x = np.concatenate([x.reshape(-1), np.array([-0.0, 0.0, np.nan, -np.inf], x.dtype)])
    out = K.relu(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    uint = np.uint32 if x.dtype == np.float32 else np.uint64  # bits: signed zeros, NaN
    np.testing.assert_array_equal(out.view(uint), K.relu_numpy(x).view(uint))
    np.testing.assert_array_equal(out.view(uint), np.maximum(x, 0).view(uint))


def test_elementwise_rejects_mismatched_shapes_and_int_input():
    with pytest.raises(ValueError, match="shape mismatch"):
        K.bce_with_logits(np.zeros(3), np.zeros(4))
    with pytest.raises(TypeError, match="float32 or float64"):
        K.sigmoid(np.zeros(3, np.int32))


# ----------------------------------------------------------------------------- batch norm

@st.composite
def batch_norm_inputs(draw):
    dtype = draw(DTYPES)
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 3))) + draw(
        hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    return floats_array(draw, shape, dtype), floats_array(draw, shape, dtype)


@given(arrays=batch_norm_inputs())
def test_batch_norm_and_grad_match_twins(arrays):
    x, g = arrays
    x_hat, mean, var = K.batch_norm(x)
    assert x_hat.shape == x.shape and x_hat.dtype == mean.dtype == var.dtype == x.dtype
    for ours, twin in zip((x_hat, mean, var), K.batch_norm_numpy(x)):
        np.testing.assert_allclose(ours, twin, **TOL[x.dtype.type])
    grad = K.batch_norm_grad(g, x_hat, var)
    assert grad.shape == x.shape and grad.dtype == x.dtype
    np.testing.assert_allclose(grad, K.batch_norm_grad_numpy(g, x_hat, var), rtol=1e-4 if
                               x.dtype == np.float32 else 1e-10, atol=1e-4 if
                               x.dtype == np.float32 else 1e-10)


@given(arrays=batch_norm_inputs())
def test_batch_norm_affine_matches_its_twin_and_batch_norm(arrays):
    x, g = arrays
    weight, bias = g.reshape(g.shape[0], g.shape[1], -1)[0, :, 0], x.reshape(
        x.shape[0], x.shape[1], -1)[-1, :, -1]
    y, x_hat, mean, var = K.batch_norm_affine(x, weight, bias)
    for ours, plain in zip((x_hat, mean, var), K.batch_norm(x)):
        np.testing.assert_array_equal(ours, plain)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    np.testing.assert_array_equal(y, x_hat * weight.reshape(shape) + bias.reshape(shape))
    twins = K.batch_norm_affine_numpy(x, weight, bias)
    for ours, twin in zip((x_hat, mean, var), twins[1:]):
        np.testing.assert_allclose(ours, twin, **TOL[x.dtype.type])
    tol = TOL[x.dtype.type]  # y's error is x_hat's times |weight|, then rounded once more
    np.testing.assert_allclose(y, twins[0], rtol=2 * tol["rtol"],
                               atol=2 * tol["atol"] * (1 + np.abs(weight).max()) + 8 * tol["rtol"])
    with pytest.raises(ValueError, match="must be"):
        K.batch_norm_affine(x, weight[:0], bias)


@given(arrays=batch_norm_inputs())
def test_batch_norm_affine_grad_matches_its_twin_and_the_composed_gradient(arrays):
    x, g = arrays
    weight = x.reshape(x.shape[0], x.shape[1], -1)[-1, :, -1]
    _, x_hat, _, var = K.batch_norm_affine(x, weight, weight)
    grad_x, grad_w, grad_b = K.batch_norm_affine_grad(g, x_hat, weight, var)
    assert grad_x.shape == x.shape and grad_w.shape == grad_b.shape == weight.shape
    assert grad_x.dtype == grad_w.dtype == grad_b.dtype == x.dtype
    f32 = x.dtype == np.float32
    tol = dict(rtol=1e-4 if f32 else 1e-10, atol=(1e-4 if f32 else 1e-10) * (1 + np.abs(
        weight).max()))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    composed = K.batch_norm_grad(g * weight.reshape(shape), x_hat, var)
    twins = K.batch_norm_affine_grad_numpy(g, x_hat, weight, var)
    for ours, twin in zip((grad_x, grad_w, grad_b), twins):
        np.testing.assert_allclose(ours, twin, **tol)
    np.testing.assert_allclose(grad_x, composed, **tol)
    axes = (0,) + tuple(range(2, x.ndim))
    np.testing.assert_allclose(grad_b, g.sum(axis=axes), rtol=tol["rtol"],
                               atol=tol["atol"] * g.size)
    with pytest.raises(ValueError, match="do not match"):
        K.batch_norm_affine_grad(g, x_hat, weight[:0], var)


def test_batch_norm_grad_is_the_derivative_of_sum_g_times_x_hat():
    rng = np.random.default_rng(0)
    x, g = rng.normal(1.0, 2.0, (2, 4, 3, 2, 2))
    numeric = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = 1e-6
        numeric[idx] = ((g * K.batch_norm(x + step)[0]).sum()
                        - (g * K.batch_norm(x - step)[0]).sum()) / 2e-6
    np.testing.assert_allclose(K.batch_norm_grad(g, K.batch_norm(x)[0], K.batch_norm(x)[2]),
                               numeric, rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------------- Adam

def adam_state(data, dtype):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=5))
    arrs = [data.draw(hnp.arrays(dtype, shape, elements=st.floats(-3, 3, width=32)))
            for _ in range(3)]
    v = data.draw(hnp.arrays(dtype, shape, elements=st.floats(0, 3, width=32)))
    return arrs + [v]


@given(st.data())
def test_adam_update_matches_twin_over_several_steps(data):
    dtype = data.draw(DTYPES)
    param, grad, m, v = adam_state(data, dtype)
    twin = [a.copy() for a in (param, m, v)]
    lr = data.draw(st.floats(1e-4, 1e-1))
    wd = data.draw(st.sampled_from([0.0, 1e-2]))
    for step in range(1, 4):
        K.adam_update(param, grad, m, v, lr, 0.9, 0.999, 1e-8, wd, step)
        K.adam_update_numpy(twin[0], grad, twin[1], twin[2], lr, 0.9, 0.999, 1e-8, wd, step)
    for ours, ref in zip((param, m, v), twin):
        assert ours.dtype == dtype
        np.testing.assert_allclose(ours, ref, rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=1e-6 if dtype == np.float32 else 1e-14)


def test_adam_first_step_moves_each_weight_by_lr_times_sign_of_grad():
    """At step 1 m_hat = g and v_hat = g**2, so the step is lr * g / (|g| + eps)."""
    param = np.zeros(4)
    grad = np.array([3.0, -0.5, 1e-3, -20.0])
    K.adam_update(param, grad, np.zeros(4), np.zeros(4), lr=0.1, eps=1e-8, step=1)
    np.testing.assert_allclose(param, -0.1 * grad / (np.abs(grad) + 1e-8), rtol=1e-12)


def test_adam_update_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    p0, grads = rng.standard_normal(10), rng.standard_normal((5, 10))
    tp = torch.tensor(p0, requires_grad=True)
    opt = torch.optim.Adam([tp], lr=0.01, betas=(0.5, 0.99), eps=1e-6, weight_decay=0.1)
    param, m, v = p0.copy(), np.zeros(10), np.zeros(10)
    for step, g in enumerate(grads, start=1):
        tp.grad = torch.tensor(g)
        opt.step()
        K.adam_update(param, g, m, v, 0.01, 0.5, 0.99, 1e-6, 0.1, step)
    np.testing.assert_allclose(param, tp.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_adam_update_rejects_bad_state():
    p = np.zeros(3)
    with pytest.raises(ValueError, match="m is"):
        K.adam_update(p, np.zeros(3), np.zeros(4), np.zeros(3), 0.1)
    with pytest.raises(ValueError, match="C-contiguous"):
        K.adam_update(np.zeros((3, 2))[:, 0], np.zeros(3), np.zeros(3), np.zeros(3), 0.1)
    with pytest.raises(ValueError, match="step"):
        K.adam_update(p, np.zeros(3), np.zeros(3), np.zeros(3), 0.1, step=0)


# ----------------------------------------------------------------------------- memory

@given(st.data())
def test_index_add_rows_matches_its_twin_and_the_definition_exactly(data):
    """Repeated rows add up, negative rows count from the end, rows of any shape, g in any
    layout: the kernel adds in the twin's order, so the two agree to the bit."""
    dtype = data.draw(DTYPES)
    k = data.draw(st.integers(1, 5))
    rows_shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=6))
    rows = data.draw(hnp.arrays(np.int64, rows_shape, elements=st.integers(-k, k - 1)))
    row_shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=4))
    g = floats_array(data.draw, rows_shape + row_shape, dtype)
    out = K.index_add_rows(rows, g, k)
    assert out.shape == (k,) + row_shape and out.dtype == dtype
    assert np.array_equal(out, K.index_add_rows_numpy(rows, g, k))
    by_definition = np.zeros_like(out)
    for m in np.ndindex(rows_shape):
        by_definition[rows[m]] += g[m]
    assert np.array_equal(out, by_definition)


def test_index_add_rows_rejects_bad_rows():
    g = np.ones((3, 2), np.float32)
    with pytest.raises(IndexError, match=r"rows must be in \[-4, 4\), got 0..4"):
        K.index_add_rows(np.array([0, 4, 1]), g, 4)
    with pytest.raises(TypeError, match="rows must be integers"):
        K.index_add_rows(np.array([0.0, 1.0, 1.0]), g, 4)
    with pytest.raises(ValueError, match=r"must start with rows' shape \(2,\)"):
        K.index_add_rows(np.array([0, 1]), g, 4)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_freed_big_arrays_are_reused_without_page_faults():
    """After keep_freed_memory(), a 16 MB array allocated again after a free is not faulted in."""
    assert K.keep_freed_memory()
    np.ones(4 << 20, np.float32)                      # allocate, touch, free
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    np.ones(4 << 20, np.float32)                      # 4096 pages if they came back fresh
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 100, f"{faults} page faults re-allocating a freed 16 MB array"


def test_tinygen_no_mallopt_leaves_glibcs_defaults():
    """TINYGEN_NO_MALLOPT=1 opts out of keep_freed_memory() at import; unset, it is applied
    (on glibc)."""
    code = "import tinygen.kernels.memory as m; print(m.applied)"
    for value, expected in (("1", "False"), ("0", str(platform.libc_ver()[0] == "glibc"))):
        env = dict(os.environ, TINYGEN_NO_MALLOPT=value)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout.strip()
        assert out == expected, f"TINYGEN_NO_MALLOPT={value}: applied is {out}"
