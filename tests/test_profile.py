"""tg.profile(): time per op and pass, calls per kernel, an engine hook off by default."""
import importlib

import numpy as np
import pytest

import tinygen as tg
from tinygen import functional as F
from tinygen import kernels, nn
from tinygen.profile import Profile

from test_viz import tinygen_imports  # noqa: I100  (a helper of the tests next door)

engine = importlib.import_module("tinygen.tensor")  # the module (tg.tensor is the function)


def _mlp_step(model, x):
    loss = (model(x) ** 2).mean()
    loss.backward()
    return loss


@pytest.fixture
def mlp():
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    x = tg.tensor(np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32))
    _mlp_step(model, x)  # warm up (and give the parameters a .grad, so accumulation is an Add)
    return model, x


def test_hook_is_off_by_default_and_after_a_profile(mlp):
    assert engine._profile_hook is None
    with tg.profile():
        assert engine._profile_hook is not None
        _mlp_step(*mlp)
    assert engine._profile_hook is None


def test_tg_profile_is_the_factory():
    assert isinstance(tg.profile(), Profile)


def test_counts_the_matmuls_of_a_two_layer_step(mlp):
    with tg.profile() as prof:
        _mlp_step(*mlp)
    # Two Linear layers: one MatMul each forward, one MatMul backward each. The two GEMMs inside
    # each MatMul backward are folded into that backward, not counted again as forwards.
    assert prof.ops["MatMul", "forward"].calls == 2
    assert prof.ops["MatMul", "backward"].calls == 2
    assert prof.ops["Relu", "forward"].calls == 1
    assert prof.ops["Pow", "backward"].calls == 1
    # The engine's own ops count too: each of the 4 parameters' .grad += g is one Add.
    assert prof.ops["Add", "forward"].calls == 2 + 4


def test_table_names_the_ops_sorted_by_time_and_shares_sum_to_one(mlp):
    with tg.profile() as prof:
        for _ in range(3):
            _mlp_step(*mlp)
    rows = prof.rows()
    assert [r[3] for r in rows] == sorted((r[3] for r in rows), reverse=True)
    assert sum(r[4] for r in rows) == pytest.approx(1.0)
    assert prof.total == pytest.approx(sum(r[3] for r in rows))
    assert 0 < prof.total <= prof.wall
    table = str(prof)
    for name in ("MatMul", "Relu", "Permute", "forward", "backward", "total ms", "share"):
        assert name in table
    first = table.splitlines()[1].split()
    assert (first[0], first[1]) == rows[0][:2]  # the slowest row is printed first
    assert "100.0 %" in table


def test_kernels_are_counted_and_restored():
    x = tg.tensor(np.ones((2, 3, 6, 6), np.float32), requires_grad=True)
    w = tg.tensor(np.ones((4, 3, 3, 3), np.float32), requires_grad=True)
    F.conv2d(x, w).sum().backward()  # warm up the numba kernels
    original = kernels.unfold
    with tg.profile() as prof:
        F.conv2d(x, w).sigmoid().sum().backward()
        assert kernels.unfold is not original
    assert kernels.unfold is original
    assert prof.ops["Unfold", "forward"].calls == 1
    assert prof.ops["Unfold", "backward"].calls == 1  # its Fold is folded into it
    assert prof.kernels["unfold"].calls == 1
    assert prof.kernels["fold"].calls == 1        # the Unfold's backward, inside the step
    assert prof.kernels["sigmoid"].calls == 1
    assert "unfold" in str(prof) and "kernel" in str(prof)
    with tg.profile(kernels=False) as prof:
        F.conv2d(x, w).sum().backward()
    assert prof.kernels == {} and prof.ops["Unfold", "forward"].calls == 1


def test_profiles_nest_and_each_records_its_block(mlp):
    with tg.profile() as outer:
        _mlp_step(*mlp)
        with tg.profile() as inner:
            _mlp_step(*mlp)
        assert engine._profile_hook == outer._hook
    assert engine._profile_hook is None
    assert inner.ops["MatMul", "forward"].calls == 2
    assert outer.ops["MatMul", "forward"].calls == 4
    assert outer.ops["MatMul", "backward"].calls == 4


def test_an_exception_inside_removes_the_hook_and_restores_the_kernels(mlp):
    original = kernels.sigmoid
    with pytest.raises(ZeroDivisionError):
        with tg.profile():
            _mlp_step(*mlp)
            1 / 0
    assert engine._profile_hook is None
    assert kernels.sigmoid is original
    with pytest.raises(RuntimeError, match="the op failed"):  # an op raising inside a profile
        with tg.profile() as prof:
            Failing.apply(tg.tensor([1.0]))
    assert engine._profile_hook is None and prof.ops["Failing", "forward"].calls == 1


class Failing(tg.Function):
    @staticmethod
    def forward(ctx, x):
        raise RuntimeError("the op failed")


def test_a_profile_cannot_be_entered_twice():
    prof = tg.profile()
    with prof:
        with pytest.raises(RuntimeError, match="already running"):
            prof.__enter__()
    assert engine._profile_hook is None


def test_off_means_the_engine_calls_the_methods_directly(mlp, monkeypatch):
    calls = []
    monkeypatch.setattr(engine, "_profile_hook", lambda op, phase: calls.append(op) or
                        getattr(op, phase))
    _mlp_step(*mlp)
    assert calls  # the hook is what the engine consults...
    monkeypatch.setattr(engine, "_profile_hook", None)
    calls.clear()
    _mlp_step(*mlp)
    assert calls == []  # ...and with it None nothing else is called


def test_profile_imports_only_the_engine_and_the_kernels():
    path = importlib.import_module("tinygen.profile").__file__
    assert tinygen_imports(path) == {"tinygen.kernels"}   # + tinygen.tensor by import_module
