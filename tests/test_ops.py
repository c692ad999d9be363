"""Every op of tinygen.ops: forward values against NumPy, float32 kept float32, and first and
second derivatives against central differences (gradcheck + gradgradcheck), on hypothesis-drawn
shapes and values, with broadcasting and non-contiguous inputs. Sides stay <= 4 so the whole
file runs in seconds.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen.testing import (arrays, assert_close, broadcastable_shapes, check_grads,
                             non_contiguous_arrays, shapes)

EXACT = dict(atol=1e-12, rtol=1e-12)


def leaf(array):
    return tg.tensor(array, requires_grad=True)


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


# -- unary ops: (tinygen function, NumPy reference, domain of the drawn values) ----------------
UNARY = {
    "neg": (lambda x: -x, np.negative, {}),
    "exp": (lambda x: x.exp(), np.exp, {}),
    "log": (lambda x: x.log(), np.log, dict(min_value=0.1)),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, dict(min_value=0.1)),
    "abs": (lambda x: x.abs(), np.abs, dict(away_from=(0.0,))),
    "tanh": (lambda x: x.tanh(), np.tanh, {}),
    "sigmoid": (lambda x: x.sigmoid(), np_sigmoid, {}),
    "relu": (lambda x: x.relu(), lambda x: np.where(x > 0, x, 0.0), dict(away_from=(0.0,))),
    "leaky_relu": (lambda x: x.leaky_relu(0.2), lambda x: np.where(x > 0, x, 0.2 * x),
                   dict(away_from=(0.0,))),
    "softplus": (lambda x: x.softplus(), lambda x: np.log(1 + np.exp(x)), {}),
    "log_sigmoid": (lambda x: x.log_sigmoid(), lambda x: np.log(np_sigmoid(x)), {}),
    "clip": (lambda x: x.clip(-1.0, 0.5), lambda x: np.minimum(np.maximum(x, -1.0), 0.5),
             dict(away_from=(-1.0, 0.5))),
    "clip_lo": (lambda x: x.clip(lo=-0.5), lambda x: np.maximum(x, -0.5),
                dict(away_from=(-0.5,))),
    "clip_hi": (lambda x: x.clip(hi=0.5), lambda x: np.minimum(x, 0.5), dict(away_from=(0.5,))),
    "pow0": (lambda x: x ** 0, lambda x: x ** 0.0, {}),
    "pow1": (lambda x: x ** 1, lambda x: x, {}),
    "pow2": (lambda x: x ** 2, np.square, {}),
    "pow3": (lambda x: x ** 3, lambda x: x * x * x, {}),
    "pow_half": (lambda x: x ** 0.5, np.sqrt, dict(min_value=0.1)),
    "pow_minus1": (lambda x: x ** -1, lambda x: 1 / x, dict(away_from=(0.0,), margin=0.3)),
    "pow_minus2.5": (lambda x: x ** -2.5, lambda x: x ** -2.5, dict(min_value=0.3)),
    "double": (lambda x: x.double(), lambda x: x, {}),
    "scalar_add": (lambda x: 2 + x, lambda x: 2 + x, {}),
    "scalar_rsub": (lambda x: 2 - x, lambda x: 2 - x, {}),
    "scalar_mul": (lambda x: x * 3, lambda x: x * 3, {}),
    "scalar_rdiv": (lambda x: 2 / x, lambda x: 2 / x, dict(away_from=(0.0,), margin=0.3)),
    "scalar_div": (lambda x: x / 4, lambda x: x / 4, {}),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_op_matches_numpy_keeps_float32_and_gradchecks(name, data):
    fn, reference, domain = UNARY[name]
    x = data.draw(arrays(shapes(max_dims=2), **domain), label="x")
    assert_close(fn(tg.tensor(x)), reference(x), **EXACT)
    check_grads(fn, [leaf(x)])
    if name == "double":
        return
    x32 = leaf(x.astype(np.float32))
    y = fn(x32)
    assert y.dtype == np.float32
    assert_close(y, reference(x32.data.astype(np.float64)), atol=1e-6, rtol=1e-5)
    y.sum().backward()
    assert x32.grad.dtype == np.float32


@pytest.mark.parametrize("name", ["exp", "abs", "relu", "sigmoid", "softplus", "log_sigmoid",
                                  "clip", "pow3", "sqrt"])
@given(data=st.data())
def test_unary_op_on_non_contiguous_input_equals_contiguous(name, data):
    fn, reference, domain = UNARY[name]
    view = data.draw(non_contiguous_arrays(shapes(min_dims=1), **domain), label="x")
    x_view, x_copy = leaf(view), leaf(np.ascontiguousarray(view))
    y_view, y_copy = fn(x_view), fn(x_copy)
    assert_close(y_view, y_copy, **EXACT)
    weights = np.linspace(-1, 1, y_copy.data.size).reshape(y_copy.shape)
    y_view.backward(weights)
    y_copy.backward(weights)
    assert_close(x_view.grad, x_copy.grad, **EXACT)


# -- binary ops with broadcasting ----------------------------------------------------------------
BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "maximum": (tg.maximum, np.maximum),
    "minimum": (tg.minimum, np.minimum),
}


@st.composite
def binary_operands(draw, name):
    """Two arrays whose shapes broadcast; b away from 0 for div, no ties for maximum/minimum."""
    shape_a, shape_b = draw(broadcastable_shapes())
    if name in ("maximum", "minimum"):  # every entry of a differs from every entry of b
        size_a = int(np.prod(shape_a))
        both = draw(arrays(size_a + int(np.prod(shape_b)), distinct=True))
        return both[:size_a].reshape(shape_a), both[size_a:].reshape(shape_b)
    b_domain = dict(away_from=(0.0,), margin=0.5) if name == "div" else {}
    return draw(arrays(shape_a)), draw(arrays(shape_b, **b_domain))


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_op_broadcasts_matches_numpy_and_gradchecks(name, data):
    fn, reference = BINARY[name]
    a, b = data.draw(binary_operands(name), label="a, b")
    y = fn(tg.tensor(a), tg.tensor(b))
    assert_close(y, reference(a, b), **EXACT)
    check_grads(fn, [leaf(a), leaf(b)])
    check_grads(fn, [leaf(a), tg.tensor(b)])  # one operand a constant
    check_grads(fn, [tg.tensor(a), leaf(b)])


@given(shapes3=broadcastable_shapes(num_shapes=3), data=st.data())
def test_where_picks_and_routes_gradients(shapes3, data):
    shape_cond, shape_a, shape_b = shapes3
    cond = data.draw(arrays(shape_cond), label="cond") > 0
    a, b = data.draw(arrays(shape_a), label="a"), data.draw(arrays(shape_b), label="b")
    assert_close(tg.where(cond, tg.tensor(a), tg.tensor(b)), np.where(cond, a, b), **EXACT)
    check_grads(lambda a, b: tg.where(cond, a, b), [leaf(a), leaf(b)])


def test_maximum_and_minimum_send_ties_to_the_first_argument():
    a, b = leaf(np.array([1.0, 2.0])), leaf(np.array([1.0, 3.0]))
    tg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [1.0, 0.0])
    np.testing.assert_array_equal(b.grad.data, [0.0, 1.0])
    a.grad = b.grad = None
    tg.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [1.0, 1.0])
    np.testing.assert_array_equal(b.grad.data, [0.0, 0.0])


# -- matmul --------------------------------------------------------------------------------------
@st.composite
def matmul_operands(draw):
    """A: (*batch_a, n, k), B: (*batch_b, k, m) with broadcastable batch shapes (maybe none)."""
    batch_a, batch_b = draw(broadcastable_shapes(max_dims=2, max_side=3))
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    return draw(arrays(batch_a + (n, k))), draw(arrays(batch_b + (k, m)))


@given(matmul_operands())
def test_matmul_batched_with_broadcast_batch_axes(operands):
    a, b = operands
    assert_close(tg.tensor(a) @ tg.tensor(b), np.matmul(a, b), atol=1e-12, rtol=1e-10)
    check_grads(lambda a, b: a @ b, [leaf(a), leaf(b)])


@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.data())
def test_matmul_2d_on_transposed_views(n, k, m, data):
    a = data.draw(non_contiguous_arrays((k, n)), label="a").T  # (n, k) views of odd strides
    b = data.draw(non_contiguous_arrays((m, k)), label="b").T
    assert_close(tg.tensor(a) @ tg.tensor(b), a @ b, atol=1e-12, rtol=1e-10)
    check_grads(lambda a, b: a @ b, [leaf(np.ascontiguousarray(a)), leaf(b.copy())])
    check_grads(lambda a, b: a.T @ b.T, [leaf(a.T.copy()), leaf(b.T.copy())])  # permute in graph


# -- reductions ----------------------------------------------------------------------------------
@st.composite
def shape_and_axis(draw, max_dims=3):
    """A shape and an axis argument: None, an int (maybe negative) or a tuple of distinct axes."""
    shape = draw(shapes(max_dims=max_dims))
    ndim = len(shape)
    if ndim == 0:
        return shape, None
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return shape, None
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    axes = [a - ndim if draw(st.booleans()) else a for a in axes]  # some as negative indices
    return shape, (axes[0] if kind == "int" else tuple(axes))


def np_logsumexp(x, axis, keepdims):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


REDUCTIONS = {
    "sum": (lambda x, **kw: x.sum(**kw), np.sum),
    "mean": (lambda x, **kw: x.mean(**kw), np.mean),
    "max": (lambda x, **kw: x.max(**kw), np.max),
    "logsumexp": (lambda x, **kw: x.logsumexp(**kw), np_logsumexp),
}


@pytest.mark.parametrize("name", REDUCTIONS)
@given(shape_axis=shape_and_axis(), keepdims=st.booleans(), data=st.data())
def test_reduction_matches_numpy_and_gradchecks(name, shape_axis, keepdims, data):
    fn, reference = REDUCTIONS[name]
    shape, axis = shape_axis
    x = data.draw(arrays(shape, distinct=(name == "max")), label="x")  # no ties for max
    y = fn(tg.tensor(x), axis=axis, keepdims=keepdims)
    assert_close(y, reference(x, axis=axis, keepdims=keepdims), atol=1e-12, rtol=1e-10)
    check_grads(lambda x: fn(x, axis=axis, keepdims=keepdims), [leaf(x)])


def test_max_shares_the_gradient_between_tied_entries():
    x = leaf(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]))
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)


def test_logsumexp_is_finite_at_extreme_values():
    x = leaf(np.array([[1000.0, 999.0], [-1000.0, -1001.0]]))
    y = x.logsumexp(axis=1)
    expected = np.array([1000.0, -1000.0]) + np.log1p(np.exp(-1.0))
    np.testing.assert_allclose(y.data, expected, rtol=1e-14)
    y.sum().backward()
    softmax = np.exp(-np.log1p(np.exp(-1.0))) * np.array([1.0, np.exp(-1.0)])
    np.testing.assert_allclose(x.grad.data, [softmax, softmax], rtol=1e-12)


# -- movement ------------------------------------------------------------------------------------
@st.composite
def shape_and_new_shape(draw):
    """A shape and another with the same number of entries: its sides shuffled, some 1s added,
    maybe one side written as -1."""
    shape = draw(shapes(max_dims=3))
    sides = list(draw(st.permutations(shape))) + [1] * draw(st.integers(0, 2))
    new = list(draw(st.permutations(sides)))
    if new and draw(st.booleans()):
        new[draw(st.integers(0, len(new) - 1))] = -1
    return shape, tuple(new)


@given(shape_and_new_shape(), st.data())
def test_reshape_matches_numpy_and_gradchecks(shapes_, data):
    shape, new_shape = shapes_
    x = data.draw(arrays(shape), label="x")
    assert_close(tg.tensor(x).reshape(new_shape), x.reshape(new_shape), **EXACT)
    assert_close(tg.tensor(x).reshape(*new_shape), x.reshape(new_shape), **EXACT)  # varargs
    assert tg.tensor(x).reshape(-1).shape == (x.size,)
    check_grads(lambda x: x.reshape(new_shape), [leaf(x)])


@given(st.data())
def test_permute_transpose_and_T_match_numpy_and_gradcheck(data):
    x = data.draw(arrays(shapes(min_dims=1, max_side=3)), label="x")
    dims = tuple(data.draw(st.permutations(range(x.ndim)), label="dims"))
    dim0, dim1 = (data.draw(st.integers(-x.ndim, x.ndim - 1)) for _ in range(2))
    assert_close(tg.tensor(x).permute(dims), np.transpose(x, dims), **EXACT)
    assert_close(tg.tensor(x).permute(*dims), np.transpose(x, dims), **EXACT)
    assert_close(tg.tensor(x).transpose(dim0, dim1), np.swapaxes(x, dim0, dim1), **EXACT)
    assert_close(tg.tensor(x).T, x.T, **EXACT)
    check_grads(lambda x: x.permute(dims), [leaf(x)])
    check_grads(lambda x: x.transpose(dim0, dim1), [leaf(x)])
    check_grads(lambda x: x.T, [leaf(x)])


@given(broadcastable_shapes(), st.data())
def test_broadcast_to_gradient_sums_over_the_copies(shapes_, data):
    shape, other = shapes_
    target = np.broadcast_shapes(shape, other)
    x = data.draw(arrays(shape), label="x")
    assert_close(tg.tensor(x).broadcast_to(target), np.broadcast_to(x, target), **EXACT)
    check_grads(lambda x: x.broadcast_to(target), [leaf(x)])


@st.composite
def basic_index(draw, shape):
    """A NumPy basic index for `shape`: per axis an int, a slice (any step sign) or ':', with
    np.newaxis and Ellipsis sometimes mixed in."""
    index = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "all"]))
        if kind == "int":
            index.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            bound = st.none() | st.integers(-n - 1, n + 1)
            step = draw(st.sampled_from([None, 1, 2, -1, -2]))
            index.append(slice(draw(bound), draw(bound), step))
        else:
            index.append(slice(None))
    if draw(st.booleans()):
        index.insert(draw(st.integers(0, len(index))), None)
    if index and draw(st.booleans()):  # replace a run of trailing ':' by Ellipsis
        index[-1] = Ellipsis if index[-1] == slice(None) else index[-1]
    return tuple(index)


@given(st.data())
def test_getitem_basic_slicing_matches_numpy_and_gradchecks(data):
    x = data.draw(arrays(shapes(min_dims=1)), label="x")
    index = data.draw(basic_index(x.shape), label="index")
    assert_close(tg.tensor(x)[index], x[index], **EXACT)
    check_grads(lambda x: x[index], [leaf(x)])


@given(st.data())
def test_getitem_integer_arrays_with_repeats_add_up_gradients(data):
    x = data.draw(arrays(shapes(min_dims=2, max_dims=3, max_side=3)), label="x")
    n0, n1 = x.shape[:2]
    rows = np.array(data.draw(st.lists(st.integers(-n0, n0 - 1), min_size=1, max_size=6)))
    cols = np.array(data.draw(st.lists(st.integers(-n1, n1 - 1), min_size=len(rows),
                                       max_size=len(rows))))
    for index in [(rows,), (slice(None), cols), (rows, cols), (rows.reshape(-1, 1), cols),
                  (list(rows),)]:
        assert_close(tg.tensor(x)[index], x[tuple(np.asarray(i) if isinstance(i, list) else i
                                                  for i in index)], **EXACT)
        check_grads(lambda x: x[index], [leaf(x)])
    x_t = leaf(x)
    x_t[rows].sum().backward()  # each row gets one gradient per time it was picked
    counts = np.bincount(rows % n0, minlength=n0).reshape((n0,) + (1,) * (x.ndim - 1))
    np.testing.assert_array_equal(x_t.grad.data, np.broadcast_to(counts, x.shape))


@given(st.data())
def test_getitem_boolean_mask(data):
    x = data.draw(arrays(shapes(min_dims=1, max_dims=2)), label="x")
    mask = x > 0
    assert_close(tg.tensor(x)[mask], x[mask], **EXACT)
    check_grads(lambda x: x[mask], [leaf(x)])


@st.composite
def concatenable(draw):
    """2-3 shapes equal except along `axis` (the returned axis may be negative)."""
    shape = draw(shapes(min_dims=1, max_dims=3))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    sides = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    return [shape[:axis % len(shape)] + (n,) + shape[axis % len(shape) + 1:] for n in sides], axis


@given(concatenable(), st.data())
def test_concatenate_matches_numpy_and_gradchecks(shapes_axis, data):
    shapes_, axis = shapes_axis
    xs = [data.draw(arrays(s), label=f"x{i}") for i, s in enumerate(shapes_)]
    fn = lambda *ts: tg.concatenate(list(ts), axis=axis)  # noqa: E731
    assert_close(fn(*map(tg.tensor, xs)), np.concatenate(xs, axis=axis), **EXACT)
    check_grads(fn, [leaf(x) for x in xs])
    check_grads(fn, [leaf(xs[0])] + [tg.tensor(x) for x in xs[1:]])  # constants mixed in


@given(shapes(max_dims=2), st.integers(1, 3), st.data())
def test_stack_matches_numpy_and_gradchecks(shape, count, data):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    xs = [data.draw(arrays(shape), label=f"x{i}") for i in range(count)]
    fn = lambda *ts: tg.stack(list(ts), axis=axis)  # noqa: E731
    assert_close(fn(*map(tg.tensor, xs)), np.stack(xs, axis=axis), **EXACT)
    check_grads(fn, [leaf(x) for x in xs])


# -- casts ---------------------------------------------------------------------------------------
@given(arrays(shapes(max_dims=2), dtype=np.float32))
def test_astype_round_trip_returns_gradient_in_the_source_dtype(x):
    x32 = leaf(x)
    y = x32.astype(np.float64)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.data, x.astype(np.float64))
    (y * y).sum().backward()
    assert x32.grad.dtype == np.float32
    assert_close(x32.grad, 2 * x.astype(np.float64), atol=1e-6, rtol=1e-6)
    x64 = leaf(x.astype(np.float64))
    assert x64.float().dtype == np.float32 and x64.float().double().dtype == np.float64
    check_grads(lambda x: x.astype(np.float64) * x, [x64])


# -- composites through several ops (a softmax, a small MLP) ------------------------------------
@given(arrays(shapes(min_dims=2, max_dims=2)))
def test_softmax_from_ops_gradchecks(x):
    def softmax(x):
        e = (x - x.logsumexp(axis=-1, keepdims=True)).exp()
        return e / e.sum(axis=-1, keepdims=True)
    assert_close(softmax(tg.tensor(x)), np.exp(x) / np.exp(x).sum(-1, keepdims=True),
                 atol=1e-12, rtol=1e-10)
    check_grads(softmax, [leaf(x)])


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.data())
def test_two_layer_mlp_gradchecks(n, d_in, d_hidden, data):
    x = data.draw(arrays((n, d_in)), label="x")
    w1, b1 = data.draw(arrays((d_in, d_hidden))), data.draw(arrays((d_hidden,)))
    w2 = data.draw(arrays((d_hidden, 1)))

    def mlp(x, w1, b1, w2):
        return ((x @ w1 + b1).tanh() @ w2).sigmoid().mean()
    check_grads(mlp, [leaf(x), leaf(w1), leaf(b1), leaf(w2)])
