"""conv2d / conv_transpose2d: values against direct loop definitions (and PyTorch when installed),
first and second derivatives against central differences, adjointness, and clear errors.

Hypothesis draws the geometry (batch, channels, sizes, kernel, stride, padding, output_padding,
bias or not); values come from a drawn seed. Shapes stay tiny so gradgradcheck is quick.
"""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import tinygen as tg
from tinygen.gradcheck import gradcheck, gradgradcheck
from tinygen.ops.conv import Fold, Unfold, conv2d, conv_transpose2d


@st.composite
def geometries(draw, max_hw=5):
    """Shapes for both ops: x (N, C, H, W), kernel (kh, kw), stride, padding, out channels, bias."""
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, kh - 2 * ph), max_hw))
    w = draw(st.integers(max(1, kw - 2 * pw), max_hw))
    stride = sh if sh == sw and draw(st.booleans()) else (sh, sw)
    padding = ph if ph == pw and draw(st.booleans()) else (ph, pw)
    output_padding = (draw(st.integers(0, sh - 1)), draw(st.integers(0, sw - 1)))
    return dict(n=n, c=c, o=o, h=h, w=w, kh=kh, kw=kw, stride=stride, padding=padding,
                output_padding=output_padding, bias=draw(st.booleans()),
                seed=draw(st.integers(0, 2**32 - 1)))


def pairs(g):
    p = lambda v: (v, v) if np.ndim(v) == 0 else v  # noqa: E731
    return p(g["stride"]), p(g["padding"])


def conv2d_inputs(g, dtype=np.float64):
    rng = np.random.default_rng(g["seed"])
    x = rng.standard_normal((g["n"], g["c"], g["h"], g["w"])).astype(dtype)
    w = rng.standard_normal((g["o"], g["c"], g["kh"], g["kw"])).astype(dtype)
    b = rng.standard_normal(g["o"]).astype(dtype) if g["bias"] else None
    return x, w, b


def conv_transpose2d_inputs(g, dtype=np.float64):
    """x, w, b for conv_transpose2d; rejects (hypothesis.assume) geometries with an empty output."""
    stride, padding = pairs(g)
    for size, s, p, k, op in zip((g["h"], g["w"]), stride, padding, (g["kh"], g["kw"]),
                                 g["output_padding"]):
        assume((size - 1) * s - 2 * p + k + op >= 1)
    rng = np.random.default_rng(g["seed"])
    x = rng.standard_normal((g["n"], g["c"], g["h"], g["w"])).astype(dtype)
    w = rng.standard_normal((g["c"], g["o"], g["kh"], g["kw"])).astype(dtype)
    b = rng.standard_normal(g["o"]).astype(dtype) if g["bias"] else None
    return x, w, b


def conv2d_by_definition(x, w, b, stride, padding):
    """out[n, o, oh, ow] = b[o] + sum_{c,i,j} w[o, c, i, j] x_pad[n, c, oh sh + i, ow sw + j]."""
    (sh, sw), (ph, pw) = stride, padding
    (n, c, h, wd), (o, _, kh, kw) = x.shape, w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh_n, ow_n = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    out = np.zeros((n, o, oh_n, ow_n))
    for oh in range(oh_n):
        for ow in range(ow_n):
            patch = xp[:, :, oh * sh:oh * sh + kh, ow * sw:ow * sw + kw]      # (N, C, kh, kw)
            out[:, :, oh, ow] = np.einsum("ncij,ocij->no", patch, w)
    return out if b is None else out + b[:, None, None]


def conv_transpose2d_by_definition(x, w, b, stride, padding, output_padding):
    """Each input pixel scatters x[n, ci, ih, iw] w[ci, co] onto out[n, co, ih sh - ph + i, ...]."""
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    (n, cin, h, wd), (_, cout, kh, kw) = x.shape, w.shape
    oh_n, ow_n = (h - 1) * sh - 2 * ph + kh + oph, (wd - 1) * sw - 2 * pw + kw + opw
    full = np.zeros((n, cout, (h - 1) * sh + kh + oph, (wd - 1) * sw + kw + opw))
    for ih in range(h):
        for iw in range(wd):
            full[:, :, ih * sh:ih * sh + kh, iw * sw:iw * sw + kw] += np.einsum(
                "nc,cdij->ndij", x[:, :, ih, iw], w)
    out = full[:, :, ph:ph + oh_n, pw:pw + ow_n]
    return out if b is None else out + b[:, None, None]


def tensors(*arrays):
    return [tg.tensor(a, requires_grad=True) for a in arrays if a is not None]


# ----------------------------------------------------------------------------- values

@given(geometries())
def test_conv2d_matches_direct_definition(g):
    x, w, b = conv2d_inputs(g)
    stride, padding = pairs(g)
    out = conv2d(tg.tensor(x), tg.tensor(w), None if b is None else tg.tensor(b),
                 g["stride"], g["padding"])
    np.testing.assert_allclose(out.data, conv2d_by_definition(x, w, b, stride, padding),
                               rtol=1e-12, atol=1e-12)


@given(geometries())
def test_conv_transpose2d_matches_direct_definition(g):
    x, w, b = conv_transpose2d_inputs(g)
    stride, padding = pairs(g)
    out = conv_transpose2d(tg.tensor(x), tg.tensor(w), None if b is None else tg.tensor(b),
                           g["stride"], g["padding"], g["output_padding"])
    expected = conv_transpose2d_by_definition(x, w, b, stride, padding, g["output_padding"])
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@given(geometries())
def test_conv_transpose2d_is_the_adjoint_of_conv2d(g):
    """<conv2d(x, w), y> = <x, conv_transpose2d(y, w)> for the same weight, stride, padding."""
    x, w, _ = conv2d_inputs(g)
    stride, padding = pairs(g)
    y = np.random.default_rng(g["seed"] + 1).standard_normal(
        conv2d_by_definition(x, w, None, stride, padding).shape)
    oh, ow = y.shape[2:]
    # the output_padding that makes conv_transpose2d(y) come back to x's (H, W)
    extra = tuple(size - ((o - 1) * s - 2 * p + k) for size, o, s, p, k in
                  zip((g["h"], g["w"]), (oh, ow), stride, padding, (g["kh"], g["kw"])))
    lhs = np.vdot(conv2d(tg.tensor(x), tg.tensor(w), None, stride, padding).data, y)
    rhs = np.vdot(x, conv_transpose2d(tg.tensor(y), tg.tensor(w), None, stride, padding,
                                      extra).data)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10)


def test_float32_stays_float32_and_matches_float64():
    g = dict(n=2, c=3, o=4, h=6, w=5, kh=3, kw=3, stride=2, padding=1, bias=True, seed=1)
    x, w, b = conv2d_inputs(g)
    out32 = conv2d(*(tg.tensor(a.astype(np.float32)) for a in (x, w, b)), stride=2, padding=1)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32.data, conv2d(*map(tg.tensor, (x, w, b)), 2, 1).data,
                               rtol=1e-5, atol=1e-5)
    up = conv_transpose2d(tg.tensor(x.astype(np.float32)), tg.tensor(np.ones((3, 2, 4, 4),
                                                                              np.float32)), None, 2, 1)
    assert up.dtype == np.float32 and up.shape == (2, 2, 12, 10)


# ----------------------------------------------------------------------------- derivatives

@given(geometries(max_hw=4))
def test_conv2d_gradients_and_second_derivatives_are_exact(g):
    x, w, b = conv2d_inputs(g)
    fn = lambda x, w, b=None: conv2d(x, w, b, g["stride"], g["padding"])  # noqa: E731
    assert gradcheck(fn, tensors(x, w, b))
    assert gradgradcheck(fn, tensors(x, w, b))


@given(geometries(max_hw=3))
def test_conv_transpose2d_gradients_and_second_derivatives_are_exact(g):
    x, w, b = conv_transpose2d_inputs(g)
    fn = lambda x, w, b=None: conv_transpose2d(  # noqa: E731
        x, w, b, g["stride"], g["padding"], g["output_padding"])
    assert gradcheck(fn, tensors(x, w, b))
    assert gradgradcheck(fn, tensors(x, w, b))


def test_unfold_and_fold_ops_are_each_others_backward():
    x = tg.tensor(np.random.default_rng(0).standard_normal((2, 2, 5, 4)), requires_grad=True)
    geometry = dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1))
    assert gradgradcheck(lambda x: Unfold.apply(x, **geometry), [x])
    cols = tg.tensor(Unfold.apply(x, **geometry).data.copy(), requires_grad=True)
    assert gradgradcheck(lambda c: Fold.apply(c, x_shape=x.shape, **geometry), [cols])


def test_conv_gradient_penalty_is_differentiable():
    """d/dw of ||d conv2d(x, w).sum() / dx||^2 (a WGAN-GP-style term) matches central differences."""
    x = tg.tensor(np.random.default_rng(2).standard_normal((1, 2, 4, 4)), requires_grad=True)
    w = tg.tensor(np.random.default_rng(3).standard_normal((3, 2, 2, 2)), requires_grad=True)

    def penalty(w):
        gx, = tg.grad(conv2d(x, w, None, 2, 0).tanh().sum(), [x], create_graph=True)
        return (gx * gx).sum()
    assert gradcheck(penalty, [w])


# ----------------------------------------------------------------------------- PyTorch

@given(geometries())
def test_conv_ops_and_their_gradients_match_torch(g):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    cases = [(conv2d, F.conv2d, conv2d_inputs(g), {}),
             (conv_transpose2d, F.conv_transpose2d, conv_transpose2d_inputs(g),
              dict(output_padding=g["output_padding"]))]
    for ours, theirs, arrays, extra in cases:
        arrays = list(arrays) if arrays[2] is not None else list(arrays[:2])
        ts = [torch.tensor(a, requires_grad=True) for a in arrays]
        ref = theirs(*ts, stride=g["stride"], padding=g["padding"], **extra)
        leaves = tensors(*arrays)
        out = ours(*leaves, stride=g["stride"], padding=g["padding"], **extra)
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
        gy = np.random.default_rng(g["seed"]).standard_normal(ref.shape)
        ref.backward(torch.tensor(gy))
        for got, t in zip(tg.grad(out, leaves, grad_outputs=tg.tensor(gy)), ts):
            np.testing.assert_allclose(got.data, t.grad.numpy(), rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- errors

def test_conv_ops_reject_bad_input_with_clear_errors():
    x = tg.tensor(np.zeros((1, 3, 5, 5), np.float32))
    w = tg.tensor(np.zeros((4, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match=r"3 channels \(shape \(1, 3, 5, 5\)\).*\(4, 2, 3, 3\)"):
        conv2d(x, tg.tensor(np.zeros((4, 2, 3, 3), np.float32)))
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv2d(x, tg.tensor(np.zeros((4, 3, 6, 6), np.float32)))
    with pytest.raises(ValueError, match="must be 4-D"):
        conv2d(tg.tensor(np.zeros((3, 5, 5), np.float32)), w)
    with pytest.raises(ValueError, match=r"conv2d: need stride >= 1.*stride \(0, 1\)"):
        conv2d(x, w, stride=(0, 1))
    with pytest.raises(ValueError, match="conv_transpose2d: need stride >= 1"):
        conv_transpose2d(x, tg.tensor(np.zeros((3, 2, 3, 3), np.float32)), padding=-1)
    with pytest.raises(ValueError, match="bias must have shape"):
        conv2d(x, w, tg.tensor(np.zeros(3, np.float32)))
    with pytest.raises(TypeError, match="conv2d: x is float32, weight is float64"):
        conv2d(x, tg.tensor(np.zeros((4, 3, 3, 3))))
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose2d(x, tg.tensor(np.zeros((3, 2, 3, 3), np.float32)), stride=2,
                         output_padding=2)
    with pytest.raises(ValueError, match=r"3 channels.*\(4, 2, 3, 3\)"):
        conv_transpose2d(x, tg.tensor(np.zeros((4, 2, 3, 3), np.float32)))
    with pytest.raises(ValueError, match="must be 4-D"):
        conv_transpose2d(x, tg.tensor(np.zeros((3, 2, 3), np.float32)))


@pytest.mark.parametrize("op, w_shape", [(conv2d, (5, 3, 3, 3)), (conv_transpose2d, (3, 5, 4, 4))])
def test_without_a_graph_a_large_batch_is_convolved_in_slices_with_the_same_result(
        monkeypatch, op, w_shape):
    """Under no_grad, a batch whose GEMM buffer passes _SLICE_BYTES is done a few samples at a
    time (tinygen/ops/conv.py); the result is the one-call result, with the graph on."""
    from tinygen.ops import conv as conv_ops
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 3, 6, 6))
    w, b = rng.standard_normal(w_shape), rng.standard_normal(w_shape[0 if op is conv2d else 1])
    whole = op(tg.tensor(x), tg.tensor(w), tg.tensor(b), stride=2, padding=1).data
    calls = []
    monkeypatch.setattr(conv_ops, "_SLICE_BYTES", 2 * 27 * 9 * 8)   # 2 or 1 samples a slice
    monkeypatch.setattr(conv_ops.Unfold, "forward", _counted(conv_ops.Unfold.forward, calls))
    monkeypatch.setattr(conv_ops.ImageToCols, "forward",
                        _counted(conv_ops.ImageToCols.forward, calls))
    with tg.no_grad():
        sliced = op(tg.tensor(x), tg.tensor(w), tg.tensor(b), stride=2, padding=1)
    assert len(calls) > 2 and sorted(set(calls))[-1] < 7     # several slices, none whole
    assert sliced.shape == whole.shape and np.allclose(sliced.data, whole, rtol=1e-12, atol=0)


def _counted(forward, calls):
    def wrapper(ctx, x, *args, **kwargs):
        calls.append(len(x))
        return forward(ctx, x, *args, **kwargs)
    return staticmethod(wrapper)
