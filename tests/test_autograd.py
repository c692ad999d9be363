"""The engine (tinygen/tensor.py, function.py): how gradients flow, accumulate and stop; higher
derivatives through create_graph=True; the dtype rules; and the errors bad input must raise.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen.testing import arrays, assert_close, shapes


def leaf(array):
    return tg.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


# -- accumulation and fan-out --------------------------------------------------------------------
@given(arrays(shapes(max_dims=2)))
def test_two_backward_calls_accumulate_into_grad(x):
    t = leaf(x)
    (t * t).sum().backward()
    once = t.grad.data.copy()
    (t * t).sum().backward()
    assert_close(once, 2 * x, atol=0, rtol=0)
    assert_close(t.grad, 2 * once, atol=0, rtol=0)


@given(arrays(shapes(max_dims=2)))
def test_a_tensor_used_twice_gets_the_sum_of_both_gradients(x):
    t = leaf(x)
    h = t.tanh()  # used by both branches below
    loss = (h * 3).sum() + (h * h).sum() + (t + t).sum()
    loss.backward()
    dh = 3 + 2 * np.tanh(x)
    assert_close(t.grad, dh * (1 - np.tanh(x) ** 2) + 2, atol=1e-12, rtol=1e-12)


def test_intermediate_tensors_get_no_grad_attribute():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.sum().backward()
    assert h.grad is None and x.grad is not None


def test_constant_inputs_receive_no_gradient():
    x, c = leaf([1.0, 2.0]), tg.tensor(np.array([3.0, 4.0]))
    (x * c).sum().backward()
    assert c.grad is None and not c.requires_grad
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])


def test_a_chain_of_100k_ops_does_not_hit_the_recursion_limit():
    x = leaf([0.5, -1.5])
    y = x
    for _ in range(100_000):
        y = -y  # an even number of negations: y == x
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])
    del y  # freeing the chain must not overflow the C stack either


# -- no_grad and detach --------------------------------------------------------------------------
def test_no_grad_builds_no_graph_and_restores_the_mode():
    x = leaf([1.0, 2.0])
    assert tg.is_grad_enabled()
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = (x * 2).exp().sum()
        with tg.enable_grad():
            z = x * 2
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y._ctx is None
    assert z.requires_grad and z._ctx is not None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()
    with pytest.raises(ZeroDivisionError), tg.no_grad():
        1 / 0
    assert tg.is_grad_enabled()  # restored after an exception too


def test_detach_stops_gradients_and_shares_data():
    x = leaf([1.0, 2.0, 3.0])
    d = x.detach()
    assert not d.requires_grad and d._ctx is None and np.shares_memory(d.data, x.data)
    (d * x).sum().backward()  # only the x factor is differentiated
    np.testing.assert_array_equal(x.grad.data, x.data)


# -- grad() -------------------------------------------------------------------------------------
@given(arrays(shapes(min_dims=1, max_dims=2)), arrays(shapes(min_dims=1, max_dims=1)))
def test_grad_agrees_with_backward_and_leaves_grad_untouched(x, w):
    a, b = leaf(x), leaf(w)

    def loss():
        return (a.sigmoid().sum(axis=-1, keepdims=True) * b).logsumexp()

    ga, gb = tg.grad(loss(), [a, b])
    assert a.grad is None and b.grad is None
    loss().backward()
    np.testing.assert_array_equal(ga.data, a.grad.data)
    np.testing.assert_array_equal(gb.data, b.grad.data)
    before = a.grad
    tg.grad(loss(), [a])
    assert a.grad is before


def test_grad_with_grad_outputs_is_a_vector_jacobian_product():
    x = leaf([1.0, 2.0, 3.0])
    v = np.array([0.5, -1.0, 2.0])
    [g] = tg.grad(x * x, x, grad_outputs=tg.tensor(v))
    np.testing.assert_array_equal(g.data, 2 * x.data * v)


def test_grad_of_an_unused_input_needs_allow_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="input 1 .* not used"):
        tg.grad((x * 2).sum(), [x, unused])
    g, none = tg.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert none is None and g.data.tolist() == [2.0]


# -- higher derivatives ---------------------------------------------------------------------------
@given(st.integers(1, 4), st.data())
def test_create_graph_gives_hessian_vector_products(n, data):
    """f(x) = sum(x^3) + x^T A x + sum(exp(x)):  H = diag(6x + exp(x)) + A + A^T."""
    x = data.draw(arrays(n), label="x")
    a = data.draw(arrays((n, n)), label="A")
    v = data.draw(arrays(n), label="v")
    t, A = leaf(x), tg.tensor(a)

    def f(t):
        return (t ** 3).sum() + (t.reshape(1, n) @ A @ t.reshape(n, 1)).sum() + t.exp().sum()

    [g] = tg.grad(f(t), t, create_graph=True)
    assert g.requires_grad
    assert_close(g, 3 * x ** 2 + (a + a.T) @ x + np.exp(x), atol=1e-12, rtol=1e-12)
    [hv] = tg.grad((g * tg.tensor(v)).sum(), t)
    hessian = np.diag(6 * x + np.exp(x)) + a + a.T
    assert_close(hv, hessian @ v, atol=1e-12, rtol=1e-12)


def test_backward_with_create_graph_makes_grad_differentiable():
    x = leaf([0.5, 2.0])
    (x ** 4).sum().backward(create_graph=True)
    first = x.grad  # 4 x^3
    assert first.requires_grad
    [second] = tg.grad(first.sum(), x, create_graph=True)  # 12 x^2
    [third] = tg.grad(second.sum(), x)  # 24 x
    np.testing.assert_allclose(first.data, 4 * x.data ** 3, rtol=1e-15)
    np.testing.assert_allclose(second.data, 12 * x.data ** 2, rtol=1e-15)
    np.testing.assert_allclose(third.data, 24 * x.data, rtol=1e-15)


def test_without_create_graph_the_gradient_is_a_constant():
    x = leaf([1.0, 2.0])
    [g] = tg.grad((x ** 3).sum(), x)
    assert not g.requires_grad and g._ctx is None


class _CubeWithNumpyBackward(tg.Function):
    """y = x**3, dy/dx = 3 x**2; counts which of its two backwards the engine ran."""
    calls = []

    @staticmethod
    def forward(ctx, x):
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        _CubeWithNumpyBackward.calls.append("backward")
        x, = ctx.inputs
        return grad * 3 * x * x

    @staticmethod
    def backward_numpy(ctx, grad):
        _CubeWithNumpyBackward.calls.append("backward_numpy")
        assert isinstance(grad, np.ndarray)
        return grad * 3 * ctx.inputs[0].data ** 2


def test_engine_runs_backward_numpy_without_create_graph_and_backward_with_it():
    x = leaf([0.5, -2.0])
    calls = _CubeWithNumpyBackward.calls
    calls.clear()
    [g] = tg.grad(_CubeWithNumpyBackward.apply(x).sum(), x)
    assert calls == ["backward_numpy"] and not g.requires_grad
    np.testing.assert_allclose(g.data, 3 * x.data ** 2, rtol=1e-15)
    calls.clear()
    [g] = tg.grad(_CubeWithNumpyBackward.apply(x).sum(), x, create_graph=True)
    assert calls == ["backward"] and g.requires_grad
    [second] = tg.grad(g.sum(), x)
    np.testing.assert_allclose(second.data, 6 * x.data, rtol=1e-15)


def test_a_wrong_backward_numpy_is_caught_by_the_engine_shape_check():
    class Bad(tg.Function):
        forward = staticmethod(lambda ctx, x: 2 * x)
        backward = staticmethod(lambda ctx, grad: grad * 2)
        backward_numpy = staticmethod(lambda ctx, grad: grad.sum())
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="Bad.backward returned a gradient of shape"):
        Bad.apply(x).sum().backward()


# -- dtype rules ----------------------------------------------------------------------------------
def test_python_numbers_and_lists_become_float32_numpy_floats_keep_their_dtype():
    assert tg.tensor(1.0).dtype == np.float32
    assert tg.tensor(3).dtype == np.float32
    assert tg.tensor([1, 2]).dtype == np.float32
    assert tg.tensor([[1.5], [2.5]]).dtype == np.float32
    assert tg.tensor(np.zeros(2)).dtype == np.float64
    assert tg.tensor(np.zeros(2, np.float32)).dtype == np.float32
    assert tg.tensor(np.float64(1.0)).dtype == np.float64
    assert tg.tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert tg.tensor(np.arange(3)).dtype == np.arange(3).dtype  # integer arrays stay integer


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_python_scalars_take_the_tensor_dtype(dtype):
    x = tg.tensor(np.array([1.0, 2.0], dtype=dtype), requires_grad=True)
    for y in [x * 2.0, 2.0 * x, x + 1, 1 - x, x / 3.0, 3.0 / x, x ** 2, -x, x * True,
              tg.maximum(x, 0.0), tg.where(np.array([True, False]), x, 0.0)]:
        assert y.dtype == dtype
    (x * 2.0).sum().backward()
    assert x.grad.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_integer_operands_take_the_tensor_dtype(dtype):
    x = tg.tensor(np.array([1.0, 2.0], dtype=dtype), requires_grad=True)
    count = np.prod(x.shape)  # an np.int64, as counts from NumPy are
    for y in [x / count, count * x, x * np.array([1, 2]), np.array([3, 4]) - x,
              x * np.array([True, False])]:
        assert y.dtype == dtype
    (x * np.array([1, 2])).sum().backward()
    assert x.grad.dtype == dtype


def test_integer_tensor_times_a_float_promotes_instead_of_truncating():
    y = tg.tensor(np.arange(3)) * 0.5
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 1.0])


def test_mixing_float32_and_float64_raises_type_error():
    x32 = tg.tensor(np.ones(2, np.float32))
    x64 = tg.tensor(np.ones(2, np.float64))
    for op in [lambda: x32 + x64, lambda: x64 * x32, lambda: x32 @ x64.reshape(2, 1),
               lambda: tg.concatenate([x32, x64]), lambda: tg.maximum(x32, x64)]:
        with pytest.raises(TypeError, match="float32 and float64"):
            op()
    assert (x32.double() + x64).dtype == np.float64  # the explicit cast works
    assert (x32 + x64.float()).dtype == np.float32


def test_ndarray_on_the_left_defers_to_the_tensor():
    x = leaf([1.0, 2.0])
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, tg.Tensor) and y.requires_grad
    np.testing.assert_array_equal(y.data, [3.0, 8.0])


# -- bad input ------------------------------------------------------------------------------------
def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        tg.tensor(np.ones((2, 3))) @ tg.tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(2, 2, 3\) and \(3, 3, 1\)"):
        tg.tensor(np.ones((2, 2, 3))) @ tg.tensor(np.ones((3, 3, 1)))
    with pytest.raises(ValueError, match=r"at least 2 dimensions.*\(2,\)"):
        tg.tensor(np.ones((2, 2))) @ tg.tensor(np.ones(2))


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_broadcast_mismatch_names_both_shapes(op):
    a, b = tg.tensor(np.ones((2, 3))), tg.tensor(np.ones((4,)))
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4,\) do not broadcast"):
        eval(f"a {op} b")


def test_backward_on_a_non_scalar_needs_a_gradient():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match=r"non-scalar .* shape \(2,\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"shape \(3,\) but its output has shape \(2,\)"):
        y.backward(tg.tensor(np.ones(3)))
    with pytest.raises(TypeError, match="grad_output is float32 but its output is float64"):
        y.backward(tg.tensor(np.ones(2, np.float32)))


def test_grad_of_an_input_that_does_not_require_grad_is_an_error():
    x, c = leaf([1.0]), tg.tensor(np.array([2.0]))
    with pytest.raises(RuntimeError, match=r"input 1 \(shape \(1,\)\) does not require grad"):
        tg.grad((x * c).sum(), [x, c])
    with pytest.raises(RuntimeError, match="output 0 does not require grad"):
        tg.grad(c.sum(), [x])


def test_requires_grad_on_an_integer_array_is_an_error():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        tg.tensor(np.arange(3, dtype=np.int64), requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        tg.tensor(np.arange(3)).requires_grad_()


def test_impossible_reshape_names_both_shapes():
    with pytest.raises(ValueError, match=r"shape \(2, 3\) \(6 entries\) into shape \(4, -1\)"):
        tg.tensor(np.ones((2, 3))).reshape(4, -1)


def test_other_movement_errors_name_the_shape():
    x = tg.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\(0, 0\) is not an ordering .* shape \(2, 3\)"):
        x.permute(0, 0)
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        x[5]
    with pytest.raises(ValueError, match=r"out of range .* 2 dimensions"):
        x.sum(axis=2)
    with pytest.raises(ValueError, match=r"axis \(0, -2\) names an axis twice"):
        x.max(axis=(0, -2))
    with pytest.raises(ValueError, match=r"cannot concatenate shapes \[\(2, 3\), \(3, 2\)\]"):
        tg.concatenate([x, tg.tensor(np.ones((3, 2)))], axis=0)
    with pytest.raises(ValueError, match="stack needs tensors of one shape"):
        tg.stack([x, tg.tensor(np.ones((3, 2)))])
    with pytest.raises(ValueError, match=r"cannot broadcast .* \(2, 3\) to \(4, 3\)"):
        x.broadcast_to((4, 3))
    with pytest.raises(ValueError, match=r"item\(\) .* shape \(2, 3\)"):
        x.item()


def test_a_function_returning_a_wrongly_shaped_gradient_is_caught():
    class BadSum(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, grad):
            return grad * tg.tensor(np.ones(5))  # shape (5,), the input is (2, 3)

    with pytest.raises(RuntimeError, match=r"BadSum.backward .* shape \(5,\) .* shape \(2, 3\)"):
        BadSum.apply(leaf(np.ones((2, 3)))).backward()


def test_pow_needs_a_number_exponent():
    x = leaf([1.0])
    with pytest.raises(TypeError, match="Python number"):
        x ** x
