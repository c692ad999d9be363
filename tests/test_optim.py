"""tinygen.optim: SGD and Adam follow their written update rules; state_dict resumes exactly."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen import nn, optim


def _params(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [nn.Parameter(rng.standard_normal(s).astype(dtype)) for s in [(3, 2), (4,)]]


def _grads(step, params):
    """A different, deterministic gradient for every step."""
    rng = np.random.default_rng(100 + step)
    return [rng.standard_normal(p.shape).astype(p.dtype) for p in params]


def _run(optimizer, params, steps, first=0):
    for t in range(first, first + steps):
        for p, g in zip(params, _grads(t, params)):
            p.grad = tg.tensor(g)
        optimizer.step()


# -- the update rules, written out ------------------------------------------------------------
@given(lr=st.floats(1e-3, 1.0), momentum=st.sampled_from([0.0, 0.5, 0.9]),
       weight_decay=st.sampled_from([0.0, 0.01, 0.3]))
def test_sgd_equals_its_formula_over_several_steps(lr, momentum, weight_decay):
    params = _params()
    expected = [p.data.copy() for p in params]
    buffers = [None] * len(params)
    _run(optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay), params, 5)
    for t in range(5):
        for i, g in enumerate(_grads(t, params)):
            g = g + weight_decay * expected[i]
            if momentum:
                buffers[i] = g if buffers[i] is None else momentum * buffers[i] + g
                g = buffers[i]
            expected[i] = expected[i] - lr * g
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.data, e, rtol=1e-12, atol=1e-12)


@given(lr=st.floats(1e-4, 0.1), beta1=st.sampled_from([0.0, 0.5, 0.9]),
       beta2=st.sampled_from([0.9, 0.999]), eps=st.sampled_from([1e-8, 1e-3]),
       weight_decay=st.sampled_from([0.0, 0.1]))
def test_adam_equals_its_formula_over_several_steps(lr, beta1, beta2, eps, weight_decay):
    params = _params()
    expected = [p.data.copy() for p in params]
    m = [np.zeros_like(e) for e in expected]
    v = [np.zeros_like(e) for e in expected]
    _run(optim.Adam(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay),
         params, 6)
    for t in range(1, 7):
        for i, g in enumerate(_grads(t - 1, params)):
            g = g + weight_decay * expected[i]
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g ** 2
            m_hat, v_hat = m[i] / (1 - beta1 ** t), v[i] / (1 - beta2 ** t)
            expected[i] = expected[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.data, e, rtol=1e-10, atol=1e-12)


def test_adam_keeps_float32_and_its_state_in_the_parameter_dtype():
    params = _params(dtype=np.float32)
    adam = optim.Adam(params)
    _run(adam, params, 2)
    assert all(p.dtype == np.float32 for p in params)
    assert adam.state[params[0]]["exp_avg"].dtype == np.float32
    assert adam.state[params[0]]["step"] == 2


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_optimizers_match_pytorch_over_several_steps(kind):
    torch = pytest.importorskip("torch")
    params = _params()
    theirs = [torch.tensor(p.data.copy(), requires_grad=True) for p in params]
    if kind == "sgd":
        ours = optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.01)
        reference = torch.optim.SGD(theirs, lr=0.1, momentum=0.9, weight_decay=0.01)
    else:
        ours = optim.Adam(params, lr=0.01, betas=(0.5, 0.999), weight_decay=0.01)
        reference = torch.optim.Adam(theirs, lr=0.01, betas=(0.5, 0.999), weight_decay=0.01)
    for t in range(5):
        for p, g in zip(theirs, _grads(t, params)):
            p.grad = torch.tensor(g)
        reference.step()
    _run(ours, params, 5)
    for p, q in zip(params, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-12)


# -- bookkeeping -------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.Adam(ps)])
def test_parameters_without_grad_are_skipped_and_zero_grad_sets_none(make):
    params = _params()
    before = params[1].data.copy()
    optimizer = make(params)
    params[0].grad = tg.tensor(np.ones(params[0].shape))
    optimizer.step()
    np.testing.assert_array_equal(params[1].data, before)
    assert params[1] not in optimizer.state
    optimizer.zero_grad()
    assert params[0].grad is None and params[1].grad is None


def test_optimizer_updates_the_parameter_arrays_in_place():
    model = nn.Linear(3, 2)
    array = model.weight.data
    sgd = optim.SGD(model.parameters(), lr=0.1)
    model(tg.ones(4, 3)).sum().backward()
    sgd.step()
    assert model.weight.data is array


def test_bad_hyperparameters_and_parameter_lists_are_refused():
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(_params(), betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="lr"):
        optim.SGD(_params(), lr=-1)
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="requires_grad"):
        optim.SGD([tg.tensor([1.0])], lr=0.1)


def test_parameter_groups_take_their_own_hyperparameters():
    a, b = _params()
    sgd = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.0}], lr=0.5)
    a0, b0 = a.data.copy(), b.data.copy()
    a.grad, b.grad = tg.tensor(np.ones(a.shape)), tg.tensor(np.ones(b.shape))
    sgd.step()
    np.testing.assert_allclose(a.data, a0 - 0.5)
    np.testing.assert_array_equal(b.data, b0)


# -- state_dict --------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.Adam(ps, lr=0.05, weight_decay=0.1)])
def test_state_dict_resumes_bit_identically(make):
    straight = _params()
    _run(make(straight), straight, 6)

    first = _params()
    optimizer = make(first)
    _run(optimizer, first, 3)
    sd = optimizer.state_dict()
    saved = [p.data.copy() for p in first]
    _run(optimizer, first, 1, first=3)  # later steps must not change the saved state_dict

    resumed = _params(seed=9)  # fresh parameters and a fresh optimizer, as after a restart
    for p, value in zip(resumed, saved):
        p.data[...] = value
    fresh = make(resumed)
    fresh.load_state_dict(sd)
    _run(fresh, resumed, 3, first=3)
    for p, q in zip(resumed, straight):
        np.testing.assert_array_equal(p.data, q.data)


def test_load_state_dict_for_other_parameters_fails_and_changes_nothing():
    adam = optim.Adam(_params())
    _run(adam, adam.param_groups[0]["params"], 1)
    other = optim.Adam([nn.Parameter(np.zeros((3, 2))), nn.Parameter(np.zeros(5))])
    _run(other, other.param_groups[0]["params"], 1)
    sd = other.state_dict()
    before = adam.state_dict()
    with pytest.raises(ValueError, match=r"exp_avg has shape \(5,\), the parameter has \(4,\)"):
        adam.load_state_dict(sd)
    with pytest.raises(ValueError, match="groups of"):
        adam.load_state_dict(optim.Adam(_params()[:1]).state_dict())
    after = adam.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for i, state in before["state"].items():
        for key, value in state.items():
            np.testing.assert_array_equal(after["state"][i][key], value)
