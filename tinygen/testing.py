"""Hypothesis strategies and assertion helpers for property tests of ops, yours included.

Place in the tower: beside gradcheck.py (imports numpy, hypothesis, tinygen.tensor,
tinygen.gradcheck). Needs the test extra (`pip install tinygen[test]`); nothing else in
tinygen imports this module.

Strategies (each returns a hypothesis strategy):
    shapes(min_dims, max_dims, min_side, max_side)     tuples like (3, 1, 2)
    broadcastable_shapes(num_shapes, ...)              shapes that broadcast together, with
                                                       size-1 axes and missing leading axes
    arrays(shape, dtype, min_value, max_value,         bounded finite arrays; the domain is
           away_from, margin, distinct)                shifted by the bounds (log, sqrt need
                                                       min_value > 0) and kept away from kinks
    non_contiguous_arrays(shape, ...)                  the same values as transposed, strided
                                                       or reversed views
    tensors(shape, dtype, requires_grad, ...)          arrays wrapped as tinygen Tensors
Helpers:
    assert_close(actual, expected, atol, rtol)         names the worst index on failure
    check_grads(fn, inputs)                            gradcheck and gradgradcheck

Why `away_from`: central differences straddling a kink (relu at 0, |x| at 0, clip at its
bounds) average two slopes and disagree with any one-sided derivative, so values are kept
at least `margin` away from the listed points. `distinct=True` keeps every pair of entries
`margin` apart, for ops whose kinks are ties between entries (max, maximum, minimum).

Example, property tests of your own op (Cube as in tinygen/function.py's docstring):

    from hypothesis import given
    from tinygen.testing import check_grads, shapes, tensors

    @given(tensors(shapes(max_dims=2), min_value=0.1, max_value=4.0))  # log needs x > 0
    def test_log_of_cube_has_exact_first_and_second_derivatives(x):
        check_grads(lambda x: Cube.apply(x).log(), [x])

    @given(tensors(shapes(), away_from=(0.0,)))  # no central difference across relu's kink
    def test_relu_of_cube_has_exact_derivatives(x):
        check_grads(lambda x: Cube.apply(x).relu(), [x])
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

from tinygen.gradcheck import gradcheck, gradgradcheck
from tinygen.tensor import Tensor

__all__ = ["shapes", "broadcastable_shapes", "arrays", "non_contiguous_arrays", "tensors",
           "assert_close", "check_grads"]


# -- shapes ------------------------------------------------------------------------------------
def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes with min_dims..max_dims axes, each of size min_side..max_side."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


@st.composite
def broadcastable_shapes(draw, num_shapes=2, min_dims=0, max_dims=3, max_side=4):
    """A tuple of `num_shapes` shapes that broadcast together (NumPy rules).

    Drawn from one full shape: each operand drops some leading axes and sets some of the
    remaining sides to 1, e.g. ((2, 1, 3), (4, 1)) broadcasting to (2, 4, 3).
    """
    full = draw(shapes(min_dims, max_dims, 1, max_side))
    result = []
    for _ in range(num_shapes):
        kept = full[draw(st.integers(0, len(full))):]
        ones = draw(st.lists(st.booleans(), min_size=len(kept), max_size=len(kept)))
        result.append(tuple(1 if one else n for n, one in zip(kept, ones)))
    return tuple(result)


# -- arrays ------------------------------------------------------------------------------------
def _resolve(draw, shape):
    if isinstance(shape, st.SearchStrategy):
        return draw(shape)
    return (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)


def _distinct_values(draw, size, min_value, max_value, margin):
    """`size` values in [min_value, max_value], in random order, every pair >= margin apart.

    The range is cut into `size` cells; each value sits in its own cell, jittered by at most a
    quarter cell, so neighbours are at least half a cell apart.
    """
    cell = (max_value - min_value) / max(size, 1)
    if cell / 2 < margin:
        raise InvalidArgument(f"distinct=True: {size} values in [{min_value}, {max_value}] "
                              f"cannot be {margin} apart; widen the range or lower margin")
    order = np.array(draw(st.permutations(range(size))), dtype=np.float64)
    jitter = draw(hnp.arrays(np.float64, size, elements=st.floats(-0.25, 0.25)))
    return min_value + (order + 0.5 + jitter) * cell


@st.composite
def arrays(draw, shape, dtype=np.float64, min_value=-3.0, max_value=3.0, away_from=(),
           margin=1e-2, distinct=False):
    """Finite arrays of `dtype` with entries in [min_value, max_value].

    shape:      a tuple (or an int) or a strategy of tuples (e.g. shapes()).
    min_value, max_value: the domain; shift it to where your function is defined and smooth
                (log and sqrt: min_value=0.1; a loss at extreme logits: min_value=500, ...).
    away_from:  points (kinks) every entry stays at least `margin` from, e.g. (0.0,) for relu.
    distinct:   every pair of entries at least `margin` apart (no ties, for max / maximum).
    """
    shape = _resolve(draw, shape)
    size = int(np.prod(shape))
    if distinct:
        values = _distinct_values(draw, size, min_value, max_value, margin)
        return values.reshape(shape).astype(dtype)
    elements = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False)
    if away_from:
        points = tuple(away_from)
        elements = elements.filter(lambda v: all(abs(v - p) >= margin for p in points))
    return draw(hnp.arrays(np.float64, shape, elements=elements)).astype(dtype)


@st.composite
def non_contiguous_arrays(draw, shape, dtype=np.float64, **array_kwargs):
    """Arrays drawn like `arrays(...)`, returned as a non-contiguous view holding those values.

    The view is one of: transposed (Fortran order, when 2+ axes are longer than 1), strided
    (every other entry of a bigger buffer) or reversed (negative strides). 0-d arrays, and
    arrays with one entry, are contiguous whatever their strides.
    """
    values = draw(arrays(shape, dtype, **array_kwargs))
    if values.ndim == 0:
        return values
    long_axes = sum(n > 1 for n in values.shape)
    layouts = ["strided", "reversed"] + (["transposed"] if long_axes >= 2 else [])
    layout = draw(st.sampled_from(layouts))
    if layout == "transposed":
        view = np.ascontiguousarray(values.T).T
    elif layout == "strided":
        buffer = np.zeros(values.shape[:-1] + (2 * values.shape[-1],), dtype=values.dtype)
        view = buffer[..., ::2]
        view[...] = values
    else:
        everything_reversed = (slice(None, None, -1),) * values.ndim
        view = values[everything_reversed].copy()[everything_reversed]
    assert np.array_equal(view, values)
    return view


def tensors(shape, dtype=np.float64, requires_grad=True, **array_kwargs):
    """Tensors with requires_grad (by default) around arrays drawn like `arrays(...)`."""
    return arrays(shape, dtype, **array_kwargs).map(
        lambda a: Tensor(a, requires_grad=requires_grad))


# -- assertions --------------------------------------------------------------------------------
def assert_close(actual, expected, atol=1e-6, rtol=1e-6):
    """Assert |actual - expected| <= atol + rtol |expected| entrywise (Tensors or arrays).

    Shapes must match exactly (no broadcasting). NaN matches only NaN, inf only the same inf.
    On failure the message names the worst entry: its index and both values.
    """
    actual = np.asarray(actual.data if isinstance(actual, Tensor) else actual)
    expected = np.asarray(expected.data if isinstance(expected, Tensor) else expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"shape {actual.shape} != expected shape {expected.shape}")
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    with np.errstate(invalid="ignore"):
        excess = np.abs(a - e) - (atol + rtol * np.abs(e))
    same = (a == e) | (np.isnan(a) & np.isnan(e))  # covers equal infinities and NaN pairs
    excess = np.where(same, -np.inf, np.where(np.isnan(excess), np.inf, excess))
    if excess.size and excess.max() > 0:
        index = np.unravel_index(int(np.argmax(excess)), excess.shape)
        bad = int(np.sum(excess > 0))
        raise AssertionError(
            f"{bad} of {excess.size} entries differ; worst at index "
            f"{tuple(int(i) for i in index)}: actual {a[index]:.10g}, expected {e[index]:.10g} "
            f"(atol {atol}, rtol {rtol})")


def check_grads(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4):
    """gradcheck and gradgradcheck of fn at `inputs` (float64 Tensors); raises on a mismatch."""
    gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol)
    gradgradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol)
