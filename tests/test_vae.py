"""The VAE floor: the ELBO pieces, the training step, the likelihood metrics, the figures."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygen as tg
from tinygen import metrics, optim, plots, vae
from tinygen.runs import NonFiniteLossError
from tinygen.runs import vae as vae_run


def _images(n=8, seed=0):
    return np.random.default_rng(seed).random((n, 1, 8, 8), dtype=np.float32)


def _model(latent=3, seed=0):
    tg.random.manual_seed(seed)
    return vae.MLPVAE(image_shape=(1, 8, 8), hidden=16, latent=latent)


def _softplus(x):
    return np.logaddexp(0.0, x)


@pytest.mark.parametrize("beta", [1.0, 0.5, 3.0])
def test_elbo_loss_equals_recon_plus_beta_kl_computed_by_hand(beta):
    model, x = _model(), _images()
    tg.random.manual_seed(7)
    terms = vae.elbo_terms(model, tg.tensor(x), beta=beta)
    # the same eps, drawn the way reparameterize draws it, then the formulas in NumPy (float64)
    tg.random.manual_seed(7)
    mu, logvar = (t.numpy().astype(np.float64) for t in model.encode(tg.tensor(x)))
    eps = tg.random.get_rng().standard_normal(mu.shape, dtype=np.float32)
    z = mu + eps * np.exp(logvar / 2)
    logits = model.decode(tg.tensor(z.astype(np.float32))).numpy().astype(np.float64)
    recon = np.sum(_softplus(logits) - x * logits) / len(x)       # -log p(x|z), Bernoulli
    kl = np.sum(0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar)) / len(x)
    assert terms.recon == pytest.approx(recon, rel=1e-4)
    assert terms.kl == pytest.approx(kl, rel=1e-4)
    assert terms.loss.item() == pytest.approx(recon + beta * kl, rel=1e-4)
    assert terms.neg_elbo == pytest.approx(recon + kl, rel=1e-4)


def test_free_bits_floor_each_unit_kl_at_lambda():
    model, x = _model(latent=4), _images()
    tg.random.manual_seed(1)
    plain = vae.elbo_terms(model, tg.tensor(x))
    tg.random.manual_seed(1)
    floored = vae.elbo_terms(model, tg.tensor(x), free_bits=100.0)   # every unit below 100 nats
    assert floored.loss.item() == pytest.approx(plain.recon + 4 * 100.0, rel=1e-5)
    assert floored.kl == pytest.approx(plain.kl, rel=1e-6)            # the report is unchanged


@given(st.floats(0.1, 4.0), st.floats(0.5, 10.0), st.floats(0.0, 20.0))
def test_kl_warmup_is_linear_then_constant(beta, warmup, progress):
    weight = vae.kl_weight(beta, warmup, progress)
    assert weight == pytest.approx(beta * min(1.0, progress / warmup))
    assert 0.0 <= weight <= beta
    assert vae.kl_weight(beta, 0.0, progress) == beta


def test_train_steps_lower_the_loss_on_a_fixed_batch():
    model = _model()
    templates = (_images(2) > 0.5).astype(np.float32)      # two binary patterns to learn
    x = templates[np.arange(32) % 2]
    opt = optim.Adam(model.parameters(), lr=1e-2)
    first = [vae.train_step(model, opt, x).neg_elbo for _ in range(3)]
    last = [vae.train_step(model, opt, x).neg_elbo for _ in range(40)][-3:]
    assert np.mean(last) < 0.5 * np.mean(first)


def _trainer(latent=3):
    cfg = {**vae_run.DEFAULTS, "image_shape": [1, 8, 8], "hidden": 16, "latent": latent,
           "batch_size": 8}
    return vae_run.Trainer(cfg)


def _u8(x):
    """Images in [0, 1] as the data floor keeps them: uint8."""
    return np.round(x * 255).astype(np.uint8)


def test_train_epoch_reports_means_and_refuses_nan():
    trainer, x = _trainer(), _images(20)
    rec = trainer.train_epoch(0, vae_run.Splits(_u8(x), None, _u8(x), None))
    assert rec["train_loss"] == pytest.approx(rec["train_recon"] + rec["train_kl"])
    assert rec["test_loss"] == pytest.approx(rec["test_recon"] + rec["test_kl"])
    trainer.model.enc.weight.data[0, 0] = np.nan    # a broken model: the loss turns NaN
    with pytest.raises(NonFiniteLossError, match="epoch 1, step 1"):
        trainer.train_epoch(0, vae_run.Splits(_u8(x), None, _u8(x), None))


class PriorEncoder:
    """q(z|x) = p(z) = N(0, I) and a decoder that ignores z: then log w = log p(x|z) exactly,
    so the IW estimate equals the reconstruction term for every k."""

    def __init__(self, logits, latent=3):
        self.logits, self.latent = logits, latent

    def encode(self, x):
        zeros = tg.zeros(len(x), self.latent)
        return zeros, zeros

    def decode(self, z):
        return tg.tensor(np.broadcast_to(self.logits, (len(z), *self.logits.shape)).copy())


def test_iw_nll_is_exact_when_q_equals_prior_and_decoder_ignores_z():
    x = _images(6)
    logits = np.random.default_rng(3).normal(size=(1, 8, 8)).astype(np.float32)
    bce = np.sum(_softplus(logits.astype(np.float64)) - x * logits, axis=(1, 2, 3))
    model = PriorEncoder(logits)
    assert metrics.iw_nll(model, x, k=7) == pytest.approx(bce.mean(), rel=1e-5)


def test_iw_nll_chunking_does_not_change_the_estimate():
    model, x = _model(), _images(10)
    whole = metrics.iw_nll(model, x, k=9, rng=np.random.default_rng(5), max_rows=10_000)
    chunked = metrics.iw_nll(model, x, k=9, rng=np.random.default_rng(5), max_rows=20)
    assert chunked == pytest.approx(whole, rel=1e-6)


def test_iw_bound_is_tighter_than_the_elbo():
    model, x = _model(), _images(16)
    elbo = []
    for seed in range(5):
        tg.random.manual_seed(seed)
        elbo.append(vae.evaluate(model, x)["neg_elbo"])
    elbo = np.mean(elbo)
    assert metrics.iw_nll(model, x, k=200) < elbo


def test_active_units_counts_units_whose_mean_varies():
    class Fixed:
        def encode(self, x):
            mu = np.zeros((len(x), 5), np.float32)
            mu[:, :2] = np.linspace(-1, 1, len(x))[:, None]   # variance ~0.35 > 0.01
            mu[:, 2] = np.linspace(-0.1, 0.1, len(x))          # variance ~0.0035 < 0.01
            return tg.tensor(mu), tg.tensor(mu)
    assert metrics.active_units(Fixed(), _images(30)) == 2


def test_image_grid_places_images_row_by_row():
    images = np.stack([np.full((1, 2, 3), i / 10, np.float32) for i in range(5)])
    grid = plots.image_grid(images, ncol=3, pad=1)
    assert grid.shape == (2 * 3 + 1, 3 * 4 + 1)
    assert grid[1, 1] == pytest.approx(0.0) and grid[1, 5] == pytest.approx(0.1)
    assert grid[4, 5] == pytest.approx(0.4) and grid[4, 9] == pytest.approx(0.5)  # empty: grey


def test_vae_figures_are_written(tmp_path):
    trainer, x = _trainer(latent=2), _images(12)
    y = np.arange(12, dtype=np.int64) % 10
    (tmp_path / "metrics.jsonl").write_text('{"epoch": 0, "train_loss": 3.0}\n'
                                            '{"epoch": 1, "train_loss": 2.0}\n')
    trainer.figures(1, vae_run.Splits(_u8(x), y, _u8(x), y), tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".png")
    assert names == ["interpolations.png", "latent.png", "loss.png", "manifold.png",
                     "reconstructions.png", "samples.png", "traversals.png"]


def test_conv_vae_maps_images_to_latents_and_back():
    tg.random.manual_seed(0)
    model = vae.build_model("conv", (1, 8, 8), latent=3, hidden=8)
    x = _images(4)
    mu, logvar = model.encode(tg.tensor(x))
    assert mu.shape == logvar.shape == (4, 3)
    assert model.decode(mu).shape == (4, 1, 8, 8)
    before = [p.data.copy() for p in model.parameters()]
    vae.train_step(model, optim.Adam(model.parameters(), lr=1e-3), x)
    assert all(not np.array_equal(b, p.data) for b, p in zip(before, model.parameters()))
    with pytest.raises(ValueError, match="even height and width in 8..128, got 9x9"):
        vae.ConvVAE((1, 9, 9))
