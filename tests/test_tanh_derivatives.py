"""Higher-order derivatives: tanh's first seven, each by tg.grad(..., create_graph=True) of the one
before (the script behind docs/figures/tanh_derivatives.png), against the exact formulas."""
import importlib.util
import os

import numpy as np
import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "docs", "figures",
                      "make_tanh_derivatives.py")


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("make_tanh_derivatives", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exact(t):
    """tanh^(k)(x) for k = 0..4 in t = tanh x, written out (d/dx p(t) = p'(t) (1 - t^2))."""
    s = 1 - t * t
    return [t, s, -2 * t * s, -2 * s * (1 - 3 * t * t), 8 * t * s * (2 - 3 * t * t)]


def by_recurrence(t, order):
    """The same through the polynomial recurrence p_{k+1}(t) = p_k'(t) (1 - t^2), p_0(t) = t."""
    p, one_minus_t2 = np.polynomial.Polynomial([0, 1]), np.polynomial.Polynomial([1, 0, -1])
    values = []
    for _ in range(order + 1):
        values.append(p(t))
        p = p.deriv() * one_minus_t2
    return values


def test_tanh_derivatives_match_the_exact_formulas_in_float64(script):
    x = np.linspace(-5, 5, 201)
    got = script.derivatives(lambda v: v.tanh(), x, 7)
    assert all(g.dtype == np.float64 for g in got)
    t = np.tanh(x)
    for k, want in enumerate(exact(t)):
        np.testing.assert_allclose(got[k], want, rtol=1e-12, atol=1e-13, err_msg=f"order {k}")
    for k, want in enumerate(by_recurrence(t, 7)):
        scale = np.abs(want).max()
        np.testing.assert_allclose(got[k], want, rtol=1e-11, atol=1e-13 * scale,
                                   err_msg=f"order {k}")
    assert got[7][100] == pytest.approx(-272.0)    # the 7th derivative at 0: p_7(0) = -272


def test_the_figure_is_written(script, tmp_path):
    path = script.make_figure(str(tmp_path / "tanh.png"), order=4)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
