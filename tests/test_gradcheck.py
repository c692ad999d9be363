"""gradcheck / gradgradcheck catch wrong derivatives in user-defined Functions (and say where),
pass correct ones, refuse inputs they cannot check; the tinygen.testing strategies deliver what
they promise.
"""
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen.function import constant
from tinygen.gradcheck import GradcheckError, gradcheck, gradgradcheck
from tinygen.testing import (arrays, assert_close, broadcastable_shapes, check_grads,
                             non_contiguous_arrays, shapes, tensors)


def leaf(array):
    return tg.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


class Square(tg.Function):
    """y = x^2;  dy/dx = 2x (correct, written with Tensor ops)."""
    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.inputs
        return grad * 2 * x


class SquareMissingFactor(tg.Function):
    """y = x^2 with the classic bug: dy/dx = x (the 2 is forgotten)."""
    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.inputs
        return grad * x


class SquareFrozenDerivative(tg.Function):
    """y = x^2 with dy/dx = 2x computed from x.data: right to first order, but a constant to the
    graph, so d/dx of the gradient is lost (the second derivative comes out 0 instead of 2)."""
    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.inputs
        return grad * constant(2 * x.data, like=grad)


class ScaledProduct(tg.Function):
    """y = a * b * scale (broadcasting);  dy/da = b * scale, dy/db = a * scale.

    `wrong_b` makes the gradient of b wrong (a sign flip) to check the input is named."""
    @staticmethod
    def forward(ctx, a, b, scale, wrong_b=False):
        ctx.scale, ctx.wrong_b = scale, wrong_b
        return a * b * scale

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        grad_b = grad * a * ctx.scale
        return grad * b * ctx.scale, (-grad_b if ctx.wrong_b else grad_b)


# -- gradcheck catches wrong first derivatives ----------------------------------------------------
@given(tensors(shapes(min_dims=1, max_dims=2), away_from=(0.0,), margin=0.1))
def test_gradcheck_catches_a_wrong_backward_and_names_input_index_and_values(x):
    with pytest.raises(GradcheckError) as error:
        gradcheck(SquareMissingFactor.apply, [x])
    message = str(error.value)
    for part in ["input 0", f"shape {x.shape}", "at index (", "analytic", "numeric"]:
        assert part in message


@given(shapes(min_dims=1, max_dims=3), st.data())
def test_gradcheck_names_the_exact_index_of_a_single_wrong_entry(shape, data):
    wrong = tuple(data.draw(st.integers(0, n - 1), label="axis index") for n in shape)

    class OffByOneEntry(tg.Function):
        """y = 3x;  backward is right except at one entry, where it adds 1."""
        @staticmethod
        def forward(ctx, x):
            return 3 * x

        @staticmethod
        def backward(ctx, grad):
            bump = np.zeros(shape)
            bump[wrong] = 1.0
            return grad * 3 + constant(bump, like=grad)

    x = data.draw(tensors(shape), label="x")
    with pytest.raises(GradcheckError, match=rf"at index \({', '.join(map(str, wrong))},?\)"):
        gradcheck(OffByOneEntry.apply, [x])


def test_gradcheck_reports_the_analytic_and_numeric_values():
    """Both are derivatives of sum(fn(x) * r) for gradcheck's fixed random r, so for y = x^2
    with the factor 2 forgotten, analytic = x r and numeric = 2 x r: the ratio is 1/2."""
    with pytest.raises(GradcheckError) as error:
        gradcheck(SquareMissingFactor.apply, [leaf([1.5])])
    found = re.search(r"analytic (\S+), numeric (\S+)", str(error.value))
    analytic, numeric = float(found[1]), float(found[2])
    assert analytic / numeric == pytest.approx(0.5, rel=1e-6)


@given(broadcastable_shapes(), st.data())
def test_gradcheck_names_the_input_whose_gradient_is_wrong(shapes_, data):
    a = data.draw(tensors(shapes_[0], away_from=(0.0,), margin=0.1), label="a")
    b = data.draw(tensors(shapes_[1]), label="b")
    assert gradcheck(lambda a, b: ScaledProduct.apply(a, b, scale=1.5), [a, b])
    with pytest.raises(GradcheckError, match=rf"input 1 \(shape {re_shape(b.shape)}\)"):
        gradcheck(lambda a, b: ScaledProduct.apply(a, b, scale=1.5, wrong_b=True), [a, b])


def re_shape(shape):
    return str(shape).replace("(", r"\(").replace(")", r"\)")


# -- gradgradcheck catches wrong second derivatives -----------------------------------------------
@given(tensors(shapes(max_dims=2)))
def test_gradgradcheck_catches_a_backward_that_is_only_right_to_first_order(x):
    assert gradcheck(SquareFrozenDerivative.apply, [x])  # first order is right...
    with pytest.raises(GradcheckError, match="input 0"):  # ...the second is not
        gradgradcheck(SquareFrozenDerivative.apply, [x])
    with pytest.raises(GradcheckError):
        check_grads(SquareFrozenDerivative.apply, [x])


@given(tensors(shapes(max_dims=2)))
def test_correct_user_function_passes_both_checks(x):
    assert gradcheck(Square.apply, [x])
    assert gradgradcheck(Square.apply, [x])
    assert gradgradcheck(lambda x: Square.apply(Square.apply(x)).sum(), [x])


@given(broadcastable_shapes(), st.data())
def test_correct_two_input_function_with_broadcast_gradients_passes(shapes_, data):
    a, b = (data.draw(tensors(s), label=n) for s, n in zip(shapes_, "ab"))
    check_grads(lambda a, b: ScaledProduct.apply(a, b, scale=-0.5), [a, b])


# -- what gradcheck refuses -----------------------------------------------------------------------
def test_gradcheck_refuses_float32_inputs():
    x = tg.tensor(np.ones(3, np.float32), requires_grad=True)
    for check in (gradcheck, gradgradcheck):
        with pytest.raises(TypeError, match=r"input 0 is float32; use float64"):
            check(Square.apply, [x])


def test_gradcheck_refuses_non_tensors_no_grad_inputs_and_non_contiguous_inputs():
    with pytest.raises(TypeError, match=r"input 0 is a ndarray, not a Tensor"):
        gradcheck(Square.apply, [np.ones(3)])
    with pytest.raises(ValueError, match="no input has requires_grad"):
        gradcheck(Square.apply, [tg.tensor(np.ones(3))])
    view = leaf(np.ones((3, 4))).data.T
    with pytest.raises(ValueError, match="input 0 is not contiguous"):
        gradcheck(Square.apply, [tg.tensor(view, requires_grad=True)])


@given(tensors(shapes(max_dims=2)))
def test_gradcheck_leaves_the_inputs_unchanged(x):
    before = x.data.copy()
    gradgradcheck(lambda x: (x * x).exp(), [x])
    np.testing.assert_array_equal(x.data, before)


def test_gradcheck_checks_only_inputs_that_require_grad():
    x, c = leaf([1.0, 2.0]), tg.tensor(np.array([3.0, 4.0]))
    assert gradcheck(lambda x, c: x * c, [x, c])
    assert gradcheck(lambda x, c: x * c.exp(), [x, c])  # c's derivative is never looked at


# -- tinygen.testing delivers what it promises ----------------------------------------------------
@given(broadcastable_shapes(num_shapes=3))
def test_broadcastable_shapes_broadcast(shapes_):
    np.broadcast_shapes(*shapes_)


@given(non_contiguous_arrays(shapes(min_dims=1)))
def test_non_contiguous_arrays_are_views_with_odd_strides(x):
    assert x.size < 2 or not x.flags.c_contiguous


@given(arrays(shapes(), min_value=-1.0, max_value=2.0, away_from=(0.0, 1.0), margin=0.05))
def test_arrays_respect_bounds_and_stay_away_from_kinks(x):
    assert x.dtype == np.float64 and np.all(np.isfinite(x))
    assert np.all((-1.0 <= x) & (x <= 2.0))
    assert np.all(np.abs(x) >= 0.05) and np.all(np.abs(x - 1.0) >= 0.05)


@given(arrays(shapes(), dtype=np.float32, distinct=True, margin=0.01))
def test_distinct_arrays_have_no_near_ties(x):
    assert x.dtype == np.float32
    gaps = np.diff(np.sort(x.ravel().astype(np.float64)))
    assert np.all(gaps >= 0.01 * (1 - 1e-6))


def test_assert_close_names_the_worst_index():
    expected = np.zeros((2, 3))
    actual = expected.copy()
    actual[0, 1], actual[1, 2] = 1e-3, 5e-3
    with pytest.raises(AssertionError, match=r"2 of 6 entries differ; worst at index \(1, 2\)"):
        assert_close(actual, expected, atol=1e-4, rtol=0)
    with pytest.raises(AssertionError, match=r"shape \(2, 3\) != expected shape \(3, 2\)"):
        assert_close(actual, expected.T)
    with pytest.raises(AssertionError, match="actual nan"):
        assert_close(np.array([np.nan]), np.array([1.0]))
    assert_close(tg.tensor(np.array([np.inf, np.nan, 1.0])), np.array([np.inf, np.nan, 1.0]))
