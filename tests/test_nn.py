"""tinygen.nn: Module bookkeeping, layer semantics, gradients through layers, PyTorch parity."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen import nn
from tinygen import random as tgr
from tinygen.gradcheck import gradcheck, gradgradcheck


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.fc2 = nn.Linear(4, 2, bias=False)

    def forward(self, x):
        return self.fc2(self.bn(self.fc1(x)).relu())


def randn(*shape, dtype=np.float32, seed=0):
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype))


# -- Module bookkeeping ------------------------------------------------------------------------
def test_attributes_register_parameters_buffers_and_modules_in_pytorch_order():
    model = TwoLayer()
    assert [n for n, _ in model.named_parameters()] == [
        "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight"]
    assert list(model.state_dict()) == [
        "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
        "bn.num_batches_tracked", "fc2.weight"]
    assert model.fc2.bias is None
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())
    assert not any(b.requires_grad for b in model.buffers())
    assert [type(m).__name__ for m in model.modules()] == ["TwoLayer", "Linear", "BatchNorm1d",
                                                          "Linear"]


def test_unknown_attribute_raises_attribute_error():
    model = TwoLayer()
    with pytest.raises(AttributeError, match="'TwoLayer' object has no attribute 'fc3'"):
        model.fc3


def test_assigning_a_parameter_before_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(2))

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Broken()


def test_a_shared_parameter_is_listed_once():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    model[1].weight = model[0].weight
    assert len(list(model.parameters())) == 3


def test_train_and_eval_set_the_mode_of_every_submodule():
    model = TwoLayer()
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_sets_grads_to_none():
    model = TwoLayer()
    model(randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_double_converts_parameters_and_float_buffers_in_place():
    model = TwoLayer()
    weight = model.fc1.weight
    before = weight.data.copy()
    model.double()
    assert model.fc1.weight is weight and weight.dtype == np.float64
    np.testing.assert_array_equal(weight.data, before)
    assert model.bn.running_var.dtype == np.float64
    assert model.bn.num_batches_tracked.dtype == np.int64
    assert model(randn(5, 3, dtype=np.float64)).dtype == np.float64
    with pytest.raises(TypeError, match="float32 or float64"):
        model.to(np.int32)


def test_float32_model_rejects_float64_input():
    with pytest.raises(TypeError, match="float32 and float64"):
        nn.Linear(3, 2)(randn(4, 3, dtype=np.float64))


def test_apply_visits_every_module():
    model = TwoLayer()
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert sorted(seen) == ["BatchNorm1d", "Linear", "Linear", "TwoLayer"]


# -- state_dict --------------------------------------------------------------------------------
def test_state_dict_round_trip_reproduces_outputs_and_holds_copies():
    tgr.manual_seed(1)
    source = TwoLayer()
    source(randn(8, 3))  # moves the running statistics away from their initial values
    sd = source.state_dict()
    before = source.fc1.weight.data.copy()
    source.state_dict()["fc1.weight"][0, 0] += 1.0  # a copy: editing it leaves the model alone
    np.testing.assert_array_equal(source.fc1.weight.data, before)

    tgr.manual_seed(2)
    target = TwoLayer()
    weight = target.fc1.weight
    assert target.load_state_dict(sd) == ([], [])
    assert target.fc1.weight is weight  # loaded in place: optimizers keep their references
    for name, value in target.state_dict().items():
        np.testing.assert_array_equal(value, sd[name], err_msg=name)
    x = randn(6, 3, seed=5)
    np.testing.assert_array_equal(target.eval()(x).data, source.eval()(x).data)


def test_load_state_dict_reports_every_mismatch_and_leaves_the_model_unchanged():
    model = TwoLayer()
    sd = model.state_dict()
    sd["fc1.weight"] = np.zeros((5, 3), np.float32)
    sd["extra.weight"] = np.zeros(2, np.float32)
    del sd["bn.bias"]
    sd["fc2.weight"] = np.zeros((2, 4), np.float32)  # valid, but must not be loaded either
    before = model.state_dict()
    with pytest.raises(ValueError) as info:
        model.load_state_dict(sd)
    message = str(info.value)
    for fragment in ("missing: bn.bias (4,)", "unexpected: extra.weight (2,)",
                     "fc1.weight: given (5, 3), module has (4, 3)"):
        assert fragment in message
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_load_state_dict_non_strict_skips_missing_and_unexpected_names():
    model = TwoLayer()
    sd = {"fc2.weight": np.ones((2, 4), np.float32), "other": np.zeros(1)}
    result = model.load_state_dict(sd, strict=False)
    assert result.unexpected_keys == ["other"] and "fc1.weight" in result.missing_keys
    np.testing.assert_array_equal(model.fc2.weight.data, 1.0)


def test_load_state_dict_refuses_float_values_for_integer_buffers():
    model = nn.BatchNorm1d(2)
    sd = model.state_dict()
    sd["num_batches_tracked"] = np.array(1.5)
    with pytest.raises(ValueError, match="dtype mismatch for num_batches_tracked"):
        model.load_state_dict(sd)


# -- default initialisation (PyTorch's) -----------------------------------------------------
@pytest.mark.parametrize("make, fan_in", [
    (lambda: nn.Linear(50, 40), 50),
    (lambda: nn.Conv2d(6, 40, 3), 6 * 9),
    (lambda: nn.ConvTranspose2d(6, 40, 4), 40 * 16),  # weight (in, out, kh, kw): fan_in = out*kh*kw
])
def test_default_init_is_uniform_within_one_over_sqrt_fan_in(make, fan_in):
    tgr.manual_seed(0)
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound
    w = layer.weight.data
    assert np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound  # U(-b, b) has std b / sqrt(3)


def test_layer_shapes_follow_pytorch_layouts():
    assert nn.Linear(3, 5).weight.shape == (5, 3)
    assert nn.Conv2d(3, 5, (2, 4)).weight.shape == (5, 3, 2, 4)
    assert nn.ConvTranspose2d(3, 5, 4).weight.shape == (3, 5, 4, 4)
    bn = nn.BatchNorm2d(3)
    np.testing.assert_array_equal(bn.weight.data, 1)
    np.testing.assert_array_equal(bn.bias.data, 0)
    np.testing.assert_array_equal(bn.running_mean.data, 0)
    np.testing.assert_array_equal(bn.running_var.data, 1)
    assert (bn.eps, bn.momentum) == (1e-5, 0.1)


def test_initialisation_is_repeatable_under_a_seed():
    tgr.manual_seed(3)
    a = nn.Conv2d(2, 3, 3).state_dict()
    tgr.manual_seed(3)
    b = nn.Conv2d(2, 3, 3).state_dict()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_init_normal_gives_dcgan_weights():
    w = nn.Parameter(np.zeros((64, 32, 4, 4), np.float32))
    nn.init.normal_(w, 0.0, 0.02)
    assert w.dtype == np.float32
    assert abs(w.data.mean()) < 1e-3 and abs(w.data.std() - 0.02) < 1e-3
    nn.init.normal_(w, 1.0, 0.02)
    assert abs(w.data.mean() - 1.0) < 1e-3


def test_init_fills_zeros_ones_and_xavier_bound():
    w = nn.Parameter(np.ones((30, 20)))
    nn.init.zeros_(w)
    assert not w.data.any()
    nn.init.ones_(w)
    assert (w.data == 1).all()
    nn.init.xavier_uniform_(w)
    bound = math.sqrt(6 / 50)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.9 * bound


# -- gradients through layers (float64) ------------------------------------------------------
def _check_layer(layer, x):
    """gradcheck and gradgradcheck of layer(x) w.r.t. x and every parameter."""
    layer.double()
    inputs = [x] + list(layer.parameters())
    fn = lambda x, *params: layer(x)  # noqa: E731  (the parameters are perturbed in place)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def _x(*shape, seed=0):
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def test_linear_gradcheck_and_gradgradcheck():
    _check_layer(nn.Linear(3, 2), _x(4, 3))


def test_conv2d_gradcheck_and_gradgradcheck():
    _check_layer(nn.Conv2d(2, 2, 3, stride=2, padding=1), _x(2, 2, 4, 3))


def test_conv_transpose2d_gradcheck_and_gradgradcheck():
    _check_layer(nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1),
                 _x(2, 2, 2, 2))


def test_batchnorm1d_train_mode_gradcheck_and_gradgradcheck():
    layer = nn.BatchNorm1d(3)
    nn.init.normal_(layer.weight, 1.0, 0.5)
    nn.init.normal_(layer.bias, 0.0, 0.5)
    _check_layer(layer, _x(5, 3))


def test_batchnorm2d_train_mode_gradcheck_and_gradgradcheck():
    layer = nn.BatchNorm2d(2)
    nn.init.normal_(layer.weight, 1.0, 0.5)
    _check_layer(layer, _x(3, 2, 2, 2))


def test_batchnorm2d_eval_mode_gradcheck():
    layer = nn.BatchNorm2d(2).double()
    layer.running_mean.data[:] = [0.5, -1.0]
    layer.running_var.data[:] = [2.0, 0.3]
    layer.eval()
    x = _x(2, 2, 2, 2)
    assert gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])


def test_dropout_and_activations_gradcheck():
    tgr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Tanh(), nn.Linear(4, 2),
                          nn.Sigmoid()).double()
    assert gradcheck(lambda x: model(x), [_x(3, 3)])


# -- batch norm semantics ----------------------------------------------------------------------
@given(n=st.integers(2, 5), c=st.integers(1, 3), hw=st.integers(1, 3), seed=st.integers(0, 99))
def test_batchnorm2d_train_uses_batch_statistics_and_updates_running_ones(n, c, hw, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, (n, c, hw, hw))
    bn = nn.BatchNorm2d(c).double()
    bn.weight.data[:] = rng.normal(1.0, 0.5, c)
    bn.bias.data[:] = rng.normal(0.0, 0.5, c)
    y = bn(tg.tensor(x)).data

    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3))  # biased, for normalising
    shape = (1, c, 1, 1)
    expected = ((x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + 1e-5)
                * bn.weight.data.reshape(shape) + bn.bias.data.reshape(shape))
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-10)
    count = n * hw * hw
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, 0.9 + 0.1 * var * count / (count - 1),
                               rtol=1e-12)
    assert bn.num_batches_tracked.data == 1


def test_batchnorm_running_statistics_follow_the_momentum_rule_over_steps():
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm1d(2).double()
    running_mean, running_var = np.zeros(2), np.ones(2)
    for _ in range(3):
        x = rng.normal(1.0, 2.0, (6, 2))
        bn(tg.tensor(x))
        running_mean = 0.9 * running_mean + 0.1 * x.mean(axis=0)
        running_var = 0.9 * running_var + 0.1 * x.var(axis=0, ddof=1)
    np.testing.assert_allclose(bn.running_mean.data, running_mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, running_var, rtol=1e-12)
    assert bn.num_batches_tracked.data == 3


def test_batchnorm_eval_uses_running_statistics_and_changes_nothing():
    bn = nn.BatchNorm1d(2).double()
    bn.running_mean.data[:] = [1.0, -2.0]
    bn.running_var.data[:] = [4.0, 0.25]
    bn.eval()
    x = np.array([[3.0, -2.0], [1.0, -1.0]])
    y = bn(tg.tensor(x)).data
    np.testing.assert_allclose(y, (x - [1.0, -2.0]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5))
    np.testing.assert_array_equal(bn.running_mean.data, [1.0, -2.0])
    assert bn.num_batches_tracked.data == 0


def test_batchnorm1d_accepts_sequences_and_rejects_wrong_shapes():
    bn = nn.BatchNorm1d(3)
    assert bn(randn(4, 3, 5)).shape == (4, 3, 5)
    with pytest.raises(ValueError, match="3 channels on axis 1, got shape \\(4, 2\\)"):
        bn(randn(4, 2))
    with pytest.raises(ValueError, match="more than one value per channel"):
        bn(randn(1, 3))


def test_batchnorm_keeps_float32():
    bn = nn.BatchNorm2d(3)
    assert bn(randn(2, 3, 4, 4)).dtype == np.float32
    assert bn.running_var.dtype == np.float32


# -- dropout, shapes, containers ---------------------------------------------------------------
def test_dropout_zeroes_a_fraction_p_scales_the_rest_and_is_identity_in_eval():
    tgr.manual_seed(0)
    drop = nn.Dropout(0.3)
    x = tg.ones(100, 100)
    y = drop(x).data
    assert abs((y == 0).mean() - 0.3) < 0.02
    np.testing.assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-6)
    assert y.dtype == np.float32
    drop.eval()
    assert drop(x) is x
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)


def test_dropout_mask_comes_from_tinygen_random():
    drop, x = nn.Dropout(0.5), tg.ones(10, 10)
    tgr.manual_seed(7)
    a = drop(x).data
    tgr.manual_seed(7)
    np.testing.assert_array_equal(drop(x).data, a)


def test_flatten_unflatten_and_sequential():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 12), nn.Unflatten(1, (3, 2, 2)))
    assert model(randn(5, 3, 2, 2)).shape == (5, 3, 2, 2)
    assert len(model) == 3 and isinstance(model[1], nn.Linear)
    assert [type(m) for m in model] == [nn.Flatten, nn.Linear, nn.Unflatten]
    with pytest.raises(ValueError, match="cannot be split"):
        nn.Unflatten(1, (5, 2))(randn(2, 12))
    with pytest.raises(TypeError, match="argument 1"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_repr_names_layers_like_pytorch():
    text = repr(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))
    assert "(0): Linear(in_features=2, out_features=3, bias=True)" in text
    assert "(1): ReLU()" in text


# -- moving a state_dict between tinygen and PyTorch ------------------------------------------
def _layer_pairs(torch):
    """(make tinygen layer, make torch layer, input shape) with the same hyperparameters."""
    return [
        (lambda: nn.Linear(5, 3), lambda: torch.nn.Linear(5, 3), (4, 5)),
        (lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1),
         lambda: torch.nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 7, 7)),
        (lambda: nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1, output_padding=1),
         lambda: torch.nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1, output_padding=1),
         (2, 4, 3, 3)),
        (lambda: nn.BatchNorm2d(3), lambda: torch.nn.BatchNorm2d(3), (4, 3, 2, 2)),
    ]


def test_state_dict_moves_to_and_from_pytorch_with_the_same_outputs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for make_ours, make_theirs, shape in _layer_pairs(torch):
        ours, theirs = make_ours(), make_theirs()
        if isinstance(ours, nn.BatchNorm2d):  # make every entry of the state non-trivial
            ours(tg.tensor(rng.normal(1.0, 2.0, (8,) + shape[1:]).astype(np.float32)))
            ours.weight.data[:] = rng.normal(1.0, 0.3, 3)
        theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
        ours.eval(), theirs.eval()
        x = rng.standard_normal(shape).astype(np.float32)
        with torch.no_grad():
            expected = theirs(torch.tensor(x)).numpy()
        y = ours(tg.tensor(x)).data
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5, err_msg=type(ours).__name__)

        back = make_ours()  # and back again, from torch
        back.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
        np.testing.assert_array_equal(back.eval()(tg.tensor(x)).data, y)


def test_batchnorm_training_step_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    x = np.random.default_rng(1).normal(0.5, 2.0, (4, 3, 3, 3)).astype(np.float32)
    y = ours(tg.tensor(x)).data
    expected = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[name], value.numpy(), rtol=1e-6,
                                   err_msg=name)
