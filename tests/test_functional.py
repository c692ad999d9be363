"""tinygen.functional: every loss and composite passes gradcheck and gradgradcheck (each
reduction), matches its textbook definition, has the exact gradients the VAE and GAN papers
rely on, and stays finite at extreme logits and log-variances. (conv2d / conv_transpose2d are
tested in test_conv.py.)
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
import tinygen.functional as F
from tinygen import random as tg_random
from tinygen.testing import arrays, assert_close, check_grads, non_contiguous_arrays, shapes

REDUCTIONS = ["mean", "sum", "none"]
CLOSE = dict(atol=1e-12, rtol=1e-10)


def leaf(array, dtype=np.float64):
    return tg.tensor(np.asarray(array, dtype=dtype), requires_grad=True)


def np_sigmoid(x):
    with np.errstate(over="ignore"):  # 1 / (1 + inf) = 0 is the right limit
        return 1 / (1 + np.exp(-x))


def np_reduce(loss, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](loss)


@st.composite
def logits_and_targets(draw, max_dims=2, logit_range=4.0):
    """Logits and targets in [0, 1] of one shape (targets may also be a broadcast scalar)."""
    shape = draw(shapes(min_dims=1, max_dims=max_dims))
    logits = draw(arrays(shape, min_value=-logit_range, max_value=logit_range), label="logits")
    target = draw(arrays(shape if draw(st.booleans()) else (), min_value=0.0, max_value=1.0),
                  label="target")
    return logits, target


# -- activations are the Tensor methods ---------------------------------------------------------
@given(arrays(shapes(max_dims=2), min_value=0.1))
def test_functional_activations_are_the_tensor_methods(x):
    t = tg.tensor(x)
    pairs = [(F.exp, t.exp), (F.log, t.log), (F.sqrt, t.sqrt), (F.abs, t.abs),
             (F.tanh, t.tanh), (F.sigmoid, t.sigmoid), (F.relu, t.relu),
             (F.softplus, t.softplus), (F.log_sigmoid, t.log_sigmoid)]
    for functional, method in pairs:
        np.testing.assert_array_equal(functional(t).data, method().data)
    np.testing.assert_array_equal(F.leaky_relu(t, 0.3).data, t.leaky_relu(0.3).data)
    np.testing.assert_array_equal(F.clip(t, 0.5, 2.0).data, t.clip(0.5, 2.0).data)


# -- log_softmax, linear, cross_entropy, mse ----------------------------------------------------
@given(arrays(shapes(min_dims=1, max_dims=2)), st.data())
def test_log_softmax_matches_numpy_and_gradchecks(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    expected = x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))
    assert_close(F.log_softmax(tg.tensor(x), axis=axis), expected, **CLOSE)
    check_grads(lambda x: F.log_softmax(x, axis=axis), [leaf(x)])


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.booleans(), st.data())
def test_linear_matches_x_wT_plus_b_and_gradchecks(n, d_in, d_out, with_bias, data):
    x, w = data.draw(arrays((n, d_in)), label="x"), data.draw(arrays((d_out, d_in)), label="W")
    b = data.draw(arrays((d_out,)), label="b")
    expected = x @ w.T + (b if with_bias else 0)
    if with_bias:
        assert_close(F.linear(tg.tensor(x), tg.tensor(w), tg.tensor(b)), expected, **CLOSE)
        check_grads(F.linear, [leaf(x), leaf(w), leaf(b)])
    else:
        assert_close(F.linear(tg.tensor(x), tg.tensor(w)), expected, **CLOSE)
        check_grads(F.linear, [leaf(x), leaf(w)])


@given(st.tuples(*[st.integers(1, 3)] * 4), st.tuples(*[st.integers(0, 2)] * 4),
       st.floats(-1, 1), st.data())
def test_pad2d_matches_numpy_pad_and_gradchecks(shape, padding, value, data):
    x = data.draw(arrays(shape), label="x")
    top, bottom, left, right = padding
    expected = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)
    assert_close(F.pad2d(tg.tensor(x), padding, value), expected, **CLOSE)
    check_grads(lambda t: F.pad2d(t, padding, value), [leaf(x)])
    cropped = tg.nn.Crop2d(padding)(tg.nn.Pad2d(padding, value)(tg.tensor(x)))
    assert_close(cropped, x, **CLOSE)                     # Crop2d undoes Pad2d


def test_pad2d_refuses_a_negative_padding_naming_it():
    with pytest.raises(ValueError, match=r"padding >= 0, got \(2, 2, 3\) and \(1, -1, 0, 0\)"):
        F.pad2d(tg.tensor(np.zeros((2, 2, 3))), (1, -1, 0, 0))


@given(st.integers(1, 4), st.integers(2, 4), st.data())
def test_cross_entropy_matches_its_definition_and_gradchecks(n, k, data):
    logits = data.draw(arrays((n, k)), label="logits")
    labels = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    for reduction in REDUCTIONS:
        expected = np_reduce(-np.log(p[np.arange(n), labels]), reduction)
        assert_close(F.cross_entropy(tg.tensor(logits), labels, reduction), expected, **CLOSE)
        check_grads(lambda z: F.cross_entropy(z, labels, reduction), [leaf(logits)])


@given(shapes(max_dims=2), st.data())
def test_mse_loss_matches_its_definition_and_gradchecks(shape, data):
    x, y = data.draw(arrays(shape), label="input"), data.draw(arrays(shape), label="target")
    for reduction in REDUCTIONS:
        assert_close(F.mse_loss(tg.tensor(x), tg.tensor(y), reduction),
                     np_reduce((x - y) ** 2, reduction), **CLOSE)
        check_grads(lambda x, y: F.mse_loss(x, y, reduction), [leaf(x), leaf(y)])


# -- binary cross-entropy with logits -----------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(logits_and_targets())
def test_bce_with_logits_matches_the_naive_formula_where_it_is_safe(reduction, pair):
    logits, target = pair  # |logits| <= 4: the naive log(sigmoid) is accurate here
    p = np_sigmoid(logits)
    naive = -(target * np.log(p) + (1 - target) * np.log(1 - p))
    loss = F.binary_cross_entropy_with_logits(tg.tensor(logits), tg.tensor(target), reduction)
    assert_close(loss, np_reduce(naive, reduction), atol=1e-12, rtol=1e-9)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(logits_and_targets())
def test_bce_with_logits_gradient_is_sigmoid_minus_target(reduction, pair):
    logits, target = pair
    x = leaf(logits)
    loss = F.binary_cross_entropy_with_logits(x, tg.tensor(target), reduction)
    weights = np.linspace(0.5, 2.0, logits.size).reshape(logits.shape)
    loss.backward(tg.tensor(weights) if reduction == "none" else None)
    scale = {"mean": 1 / logits.size, "sum": 1.0, "none": weights}[reduction]
    assert_close(x.grad, (np_sigmoid(logits) - target) * scale, atol=1e-14, rtol=1e-12)


@given(st.data())
def test_bce_with_logits_on_non_contiguous_logits_equals_contiguous(data):
    view = data.draw(non_contiguous_arrays(shapes(min_dims=1), min_value=-4, max_value=4))
    target = data.draw(arrays(view.shape, min_value=0.0, max_value=1.0), label="target")
    x_view, x_copy = leaf(view), leaf(np.ascontiguousarray(view))
    for x in (x_view, x_copy):
        F.binary_cross_entropy_with_logits(x, tg.tensor(target), reduction="sum").backward()
    assert_close(x_view.grad, x_copy.grad, atol=1e-15, rtol=1e-12)
    assert_close(x_view.grad, np_sigmoid(view) - target, atol=1e-15, rtol=1e-12)


@given(logits_and_targets(max_dims=1))
def test_bce_with_logits_gradchecks_in_logits_and_target(pair):
    logits, target = pair
    for reduction in REDUCTIONS:
        check_grads(lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction),
                    [leaf(logits), leaf(target)])
        check_grads(lambda x: F.binary_cross_entropy_with_logits(x, tg.tensor(target),
                                                                 reduction), [leaf(logits)])


# -- the VAE pieces ----------------------------------------------------------------------------
@given(shapes(max_dims=3), st.data())
def test_reparameterize_grad_matches_formula_exactly(shape, data):
    """z = mu + eps exp(logvar/2):  dz/dmu = 1,  dz/dlogvar = eps exp(logvar/2) / 2, bit for bit."""
    mu_np, logvar_np = data.draw(arrays(shape), label="mu"), data.draw(arrays(shape), label="lv")
    eps = data.draw(arrays(shape), label="eps")
    mu, logvar = leaf(mu_np), leaf(logvar_np)
    z = F.reparameterize(mu, logvar, eps=tg.tensor(eps))
    np.testing.assert_array_equal(z.data, mu_np + eps * np.exp(logvar_np / 2))
    z.sum().backward()
    np.testing.assert_array_equal(mu.grad.data, np.ones(shape))
    np.testing.assert_array_equal(logvar.grad.data, eps * np.exp(logvar_np / 2) / 2)
    check_grads(lambda m, v: F.reparameterize(m, v, eps=tg.tensor(eps)), [mu, logvar])


def test_reparameterize_draws_eps_from_the_seeded_generator_in_the_input_dtype():
    mu = tg.tensor(np.full((2000, 3), 1.5, np.float32))
    logvar = tg.tensor(np.full((2000, 3), np.log(4.0), np.float32))
    tg_random.manual_seed(7)
    z1 = F.reparameterize(mu, logvar)
    tg_random.manual_seed(7)
    z2 = F.reparameterize(mu, logvar)
    assert z1.dtype == np.float32
    np.testing.assert_array_equal(z1.data, z2.data)
    eps = (z1.data - 1.5) / 2.0  # z = mu + 2 eps
    assert abs(eps.mean()) < 0.05 and abs(eps.std() - 1) < 0.05  # N(0, 1): 6000 draws, 4 s.e.
    state = tg_random.get_state()
    z3 = F.reparameterize(mu, logvar, rng=np.random.default_rng(3))
    z4 = F.reparameterize(mu, logvar, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(z3.data, z4.data)  # a given rng is used...
    assert tg_random.get_state() == state  # ...and the global one left alone


def kl_by_quadrature(mu, logvar):
    """KL(N(mu, s^2) || N(0, 1)) = integral of q (log q - log p), by the trapezoid rule on
    mu +- 12 s (an independent check of the closed form)."""
    s = np.exp(logvar / 2)
    z = np.linspace(mu - 12 * s, mu + 12 * s, 20001)
    log_q = -0.5 * ((z - mu) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)
    log_p = -0.5 * z ** 2 - 0.5 * np.log(2 * np.pi)
    return np.trapezoid(np.exp(log_q) * (log_q - log_p), z)


@given(arrays(4, min_value=-2.0, max_value=2.0), arrays(4, min_value=-3.0, max_value=3.0))
def test_gaussian_kl_matches_numerical_integration(mu, logvar):
    kl = F.gaussian_kl(tg.tensor(mu), tg.tensor(logvar), reduction="none")
    expected = [kl_by_quadrature(m, v) for m, v in zip(mu, logvar)]
    assert_close(kl, np.array(expected), atol=1e-7, rtol=1e-6)
    assert np.all(kl.data >= -1e-15)  # KL >= 0 (up to rounding in exp(v) - 1 - v near v = 0)


@given(shapes(min_dims=1, max_dims=2), st.data())
def test_gaussian_kl_textbook_value_and_gradchecks(shape, data):
    mu, logvar = data.draw(arrays(shape), label="mu"), data.draw(arrays(shape), label="logvar")
    textbook = 0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar)  # Kingma & Welling 2014, app. B
    for reduction in REDUCTIONS:
        assert_close(F.gaussian_kl(tg.tensor(mu), tg.tensor(logvar), reduction),
                     np_reduce(textbook, reduction), **CLOSE)
        check_grads(lambda m, v: F.gaussian_kl(m, v, reduction), [leaf(mu), leaf(logvar)])


def test_gaussian_kl_defaults_to_sum_and_is_zero_at_the_prior():
    zeros = tg.tensor(np.zeros((3, 2)))
    assert F.gaussian_kl(zeros, zeros).item() == 0.0
    ones = tg.tensor(np.ones((3, 2)))
    assert F.gaussian_kl(ones, zeros).item() == pytest.approx(3.0)  # 6 entries * 1/2


# -- the GAN losses ----------------------------------------------------------------------------
@given(shapes(min_dims=1, max_dims=2), st.floats(0.7, 1.0), st.data())
def test_gan_discriminator_loss_matches_its_definition_and_gradchecks(shape, real_target, data):
    real = data.draw(arrays(shape, min_value=-5, max_value=5), label="real logits")
    fake = data.draw(arrays(shape, min_value=-5, max_value=5), label="fake logits")
    d_real, d_fake = np_sigmoid(real), np_sigmoid(fake)
    on_real = -(real_target * np.log(d_real) + (1 - real_target) * np.log(1 - d_real))
    for reduction in REDUCTIONS:
        expected = np_reduce(on_real, reduction) + np_reduce(-np.log(1 - d_fake), reduction)
        loss = F.gan_discriminator_loss(tg.tensor(real), tg.tensor(fake), real_target, reduction)
        assert_close(loss, expected, atol=1e-12, rtol=1e-9)
        check_grads(lambda r, f: F.gan_discriminator_loss(r, f, real_target, reduction),
                    [leaf(real), leaf(fake)])


@pytest.mark.parametrize("kind", ["non_saturating", "minimax"])
@given(arrays(shapes(min_dims=1, max_dims=2), min_value=-5, max_value=5))
def test_gan_generator_loss_matches_its_definition_and_gradchecks(kind, fake):
    d_fake = np_sigmoid(fake)
    per_sample = -np.log(d_fake) if kind == "non_saturating" else np.log(1 - d_fake)
    for reduction in REDUCTIONS:
        loss = F.gan_generator_loss(tg.tensor(fake), kind, reduction)
        assert_close(loss, np_reduce(per_sample, reduction), atol=1e-12, rtol=1e-9)
        check_grads(lambda f: F.gan_generator_loss(f, kind, reduction), [leaf(fake)])


@pytest.mark.parametrize("kind", ["non_saturating", "minimax"])
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.data())
def test_generator_loss_reaches_the_generator_through_the_discriminator(kind, n, d_z, d_x, data):
    """G(z) = z @ Wg, D(x) = x @ Wd^T + bd. The generator loss must send gradients through D to
    Wg and to z; the discriminator loss on a detached fake must send none to G."""
    z_np, wg_np = data.draw(arrays((n, d_z)), label="z"), data.draw(arrays((d_z, d_x)), label="Wg")
    wd_np, bd_np = data.draw(arrays((1, d_x)), label="Wd"), data.draw(arrays((1,)), label="bd")
    z, wg, wd, bd = leaf(z_np), leaf(wg_np), leaf(wd_np), leaf(bd_np)
    fake = z @ wg
    F.gan_generator_loss(F.linear(fake, wd, bd), kind).backward()

    logit = z_np @ wg_np @ wd_np.T + bd_np  # (n, 1)
    if kind == "non_saturating":  # d/dlogit of mean(-log sigmoid(logit))
        d_logit = (np_sigmoid(logit) - 1) / n
    else:  # d/dlogit of mean(log(1 - sigmoid(logit)))
        d_logit = -np_sigmoid(logit) / n
    d_fake = d_logit @ wd_np  # (n, d_x)
    assert_close(z.grad, d_fake @ wg_np.T, atol=1e-12, rtol=1e-10)
    assert_close(wg.grad, z_np.T @ d_fake, atol=1e-12, rtol=1e-10)
    assert_close(wd.grad, d_logit.T @ (z_np @ wg_np), atol=1e-12, rtol=1e-10)

    z.grad = wg.grad = wd.grad = bd.grad = None
    real = tg.tensor(data.draw(arrays((n, d_x)), label="real"))
    F.gan_discriminator_loss(F.linear(real, wd, bd), F.linear(fake.detach(), wd, bd)).backward()
    assert z.grad is None and wg.grad is None  # the detached fake cut G out of the graph
    assert wd.grad is not None and bd.grad is not None


# -- stability at extreme inputs ----------------------------------------------------------------
EXTREME_LOGITS = [-1000.0, -100.0, -30.0, 0.0, 30.0, 100.0, 1000.0]


def finite_value_and_grad(fn, x):
    y = fn(x)
    assert np.all(np.isfinite(y.data)), f"non-finite value {y.data} at {x.data}"
    [g] = tg.grad(y.sum(), x)
    assert np.all(np.isfinite(g.data)), f"non-finite gradient {g.data} at {x.data}"
    return y.data, g.data


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_are_finite_and_right_at_extreme_logits(dtype):
    x = leaf(EXTREME_LOGITS, dtype)
    x64 = x.data.astype(np.float64)
    tiny = np.exp(-np.abs(x64))  # the correction terms, e^-1000 = 0 in any float
    near = dict(atol=1e-30, rtol=1e-6)  # float32 holds e^-100 = 3.7e-44 only as a denormal
    # sigmoid' = y (1 - y) loses the 1e-13 at x = 30 to rounding of 1 - y: right to 1e-12 only
    near_grad = dict(atol=1e-12, rtol=1e-6)
    values, grads = finite_value_and_grad(F.softplus, x)
    assert_close(values, np.maximum(x64, 0) + np.log1p(tiny), **near)
    assert_close(grads, np_sigmoid(x64), **near)
    values, grads = finite_value_and_grad(F.sigmoid, x)
    assert_close(values, np_sigmoid(x64), **near)
    assert_close(grads, np_sigmoid(x64) * np_sigmoid(-x64), **near_grad)
    values, grads = finite_value_and_grad(F.log_sigmoid, x)
    assert_close(values, np.minimum(x64, 0) - np.log1p(tiny), **near)
    assert_close(grads, np_sigmoid(-x64), **near)
    for y in (F.softplus(x), F.sigmoid(x), F.log_sigmoid(x)):
        assert y.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("target", [0.0, 0.5, 1.0])
def test_bce_and_gan_losses_are_finite_at_extreme_logits(dtype, target):
    x = leaf(EXTREME_LOGITS, dtype)
    values, grads = finite_value_and_grad(
        lambda x: F.binary_cross_entropy_with_logits(x, target, reduction="none"), x)
    x64 = x.data.astype(np.float64)
    expected = (np.maximum(x64, 0) - target * x64) + np.log1p(np.exp(-np.abs(x64)))  # in this
    # order there is no cancellation: at x = 30, t = 1 the loss is log1p(e^-30) = 9.4e-14
    assert_close(values, expected, atol=1e-30, rtol=1e-6)
    assert_close(grads, np_sigmoid(x64) - target, atol=1e-6, rtol=0)
    for loss in [lambda x: F.gan_discriminator_loss(x, -x),
                 lambda x: F.gan_generator_loss(x, "non_saturating"),
                 lambda x: F.gan_generator_loss(x, "minimax"),
                 lambda x: F.cross_entropy(x.reshape(1, -1), [0]),
                 lambda x: F.log_softmax(x)]:
        finite_value_and_grad(loss, x)


def test_vae_pieces_are_finite_at_logvar_of_plus_minus_100():
    """float64: exp(100) = 2.7e43 is representable, so KL and z are finite at logvar = +-100.
    float32 overflows at exp(88.7): a float32 KL at logvar = +100 is inf by necessity, so the
    float32 check covers logvar = -100 (exp underflows harmlessly) and +80 for the KL, and +-100
    for reparameterize, which only needs exp(logvar / 2) = exp(50)."""
    for dtype, kl_logvars in [(np.float64, [-100.0, 100.0]), (np.float32, [-100.0, 80.0])]:
        mu = leaf(np.zeros(2), dtype)
        logvar = leaf(kl_logvars, dtype)
        kl, g = finite_value_and_grad(lambda v: F.gaussian_kl(mu, v, reduction="none"), logvar)
        assert_close(kl, 0.5 * (np.exp(np.array(kl_logvars)) - 1 - np.array(kl_logvars)),
                     atol=0, rtol=1e-6)
        assert_close(g, 0.5 * (np.exp(np.array(kl_logvars)) - 1), atol=0, rtol=1e-6)
        logvar = leaf([-100.0, 100.0], dtype)
        eps = tg.tensor(np.array([0.5, -0.5], dtype))
        finite_value_and_grad(lambda v: F.reparameterize(mu, v, eps=eps), logvar)


# -- bad input ----------------------------------------------------------------------------------
def test_functionals_reject_bad_input_naming_the_shapes():
    a, b = tg.tensor(np.zeros((2, 3))), tg.tensor(np.zeros((3, 2)))
    cases = [
        (lambda: F.gaussian_kl(a, b), r"mu shape \(2, 3\) != logvar shape \(3, 2\)"),
        (lambda: F.reparameterize(a, b), r"mu shape \(2, 3\) != logvar shape \(3, 2\)"),
        (lambda: F.reparameterize(a, a, eps=b), r"eps shape \(3, 2\) != mu shape \(2, 3\)"),
        (lambda: F.mse_loss(a, b), r"input shape \(2, 3\) != target shape \(3, 2\)"),
        (lambda: F.binary_cross_entropy_with_logits(a, b), r"logits shape \(2, 3\) and target "
                                                           r"shape \(3, 2\)"),
        (lambda: F.linear(a, b), r"3 features \(shape \(2, 3\)\).*weight shape \(3, 2\)"),
        (lambda: F.cross_entropy(a, [0, 1, 2]), r"\(2, 3\) and \(3,\)"),
        (lambda: F.mse_loss(a, a, reduction="avg"), "reduction must be 'mean', 'sum' or 'none'"),
        (lambda: F.gan_generator_loss(a, kind="hinge"), "kind must be one of 'non_saturating'"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


# -- ops with a NumPy-only backward (tinygen.function): the same numbers as their formula ---------
def _ops_with_backward_numpy():
    found, todo = set(), [tg.Function]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__dict__.get("backward_numpy") is not None and cls.__module__.startswith("tinygen"):
            found.add(cls.__name__)
    return found


BACKWARD_NUMPY_CASES = {  # op name -> (function of two tensors, domain of the drawn values)
    "Relu": (lambda x, t: x.relu() * t, dict(away_from=(0.0,))),
    "LeakyRelu": (lambda x, t: x.leaky_relu(0.2) * t, dict(away_from=(0.0,))),
    "BatchNormalize": (lambda x, t: F.batch_normalize(x.reshape(3, 2, -1))[0].reshape(x.shape)
                       * t, {}),
    "BatchNormalize with weight and bias": (
        lambda x, t: F.batch_normalize(x, 1e-5, t[0, :, 0], t[1, :, 1])[0] * t, {}),
    "BCEWithLogits": (lambda x, t: F.binary_cross_entropy_with_logits(x, t.sigmoid(), "none"),
                      {}),
}


def test_every_op_with_a_backward_numpy_is_checked_here():
    assert _ops_with_backward_numpy() == {name.split()[0] for name in BACKWARD_NUMPY_CASES}


@pytest.mark.parametrize("name", sorted(BACKWARD_NUMPY_CASES))
@given(data=st.data())
def test_backward_numpy_gives_the_numbers_of_the_differentiable_backward(name, data):
    fn, domain = BACKWARD_NUMPY_CASES[name]
    x = data.draw(arrays((3, 2, 2), **domain))
    t = data.draw(arrays((3, 2, 2)))
    x_leaf, t_leaf = leaf(x), leaf(t)
    weights = np.linspace(-1, 2, x.size).reshape(x.shape)
    fast = tg.grad((fn(x_leaf, t_leaf) * weights).sum(), [x_leaf, t_leaf])
    formula = tg.grad((fn(x_leaf, t_leaf) * weights).sum(), [x_leaf, t_leaf], create_graph=True)
    for a, b in zip(fast, formula):
        assert not a.requires_grad
        assert_close(a, b.data, atol=1e-12, rtol=1e-10)
    check_grads(lambda a, b: (fn(a, b) * weights).sum(), [leaf(x), leaf(t)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_normalize_with_weight_and_bias_is_x_hat_times_weight_plus_bias(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 2, 2)).astype(dtype)
    weight, bias = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
    y, mean, var = F.batch_normalize(tg.tensor(x), 1e-5, tg.tensor(weight), tg.tensor(bias))
    x_hat = F.batch_normalize(tg.tensor(x), 1e-5)[0].data
    np.testing.assert_array_equal(y.data, x_hat * weight.reshape(1, 3, 1, 1)
                                  + bias.reshape(1, 3, 1, 1))  # the same rounding, bit for bit
    assert y.dtype == dtype and mean.shape == var.shape == (3,)
    with pytest.raises(ValueError, match="both weight and bias"):
        F.batch_normalize(tg.tensor(x), 1e-5, tg.tensor(weight))
