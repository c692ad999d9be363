"""Class-conditional VAE and GAN: the label path has exact derivatives, the unconditional
networks are untouched, and the command line trains, samples by class, encodes, scores and
refuses bad requests with one line and nothing written."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygen as tg
from tinygen import functional as F
from tinygen import optim
from tinygen.cli import main
from tinygen.gan import DCGANDiscriminator, DCGANGenerator, GANLoss, build_models, train_step
from tinygen.runs.labels import DIGITS
from tinygen.testing import arrays, check_grads
from tinygen.vae import MLPVAE, build_model, elbo_terms

labels = st.lists(st.integers(0, 2), min_size=2, max_size=4).map(np.array)


@given(y=labels, x=arrays((4, 1, 4, 4), min_value=0.0, max_value=1.0))
@settings(max_examples=5)
def test_conditional_elbo_has_exact_derivatives_in_the_label_embedding(y, x):
    tg.random.manual_seed(0)
    model = MLPVAE((1, 4, 4), hidden=5, latent=2, num_classes=3, label_dim=2).double()
    x = tg.tensor(x[:len(y)])

    def loss(weight):          # the same eps every call: reseed before reparameterize draws
        tg.random.manual_seed(1)
        return elbo_terms(model, x, y=y).loss
    check_grads(loss, [model.embed.weight])


@given(y=labels)
@settings(max_examples=2)
@pytest.mark.parametrize("conditioning", ["projection", "concat"])
def test_conditional_discriminator_has_exact_derivatives_in_the_embedding_and_x(conditioning, y):
    tg.random.manual_seed(0)
    # 16x16 images: two stages (MNIST's padded 32x32 has three), a quarter of the entries
    D = DCGANDiscriminator(width=1, num_classes=3, conditioning=conditioning,
                           image_shape=(1, 16, 16)).double()
    D.embed.weight.data[...] = np.random.default_rng(0).standard_normal(D.embed.weight.shape)
    x = tg.tensor(np.random.default_rng(1).uniform(-1, 1, (len(y), 1, 16, 16)),
                  requires_grad=True)
    # the generator's loss through D: softplus(-logit) is not linear in the label table, so
    # the second derivatives are not trivially zero (the concat table, 3 x 256 entries, is
    # checked to first order only: its path is indexing and concatenation, engine ops whose
    # second derivatives tests/test_ops.py checks)
    fn = lambda weight: F.gan_generator_loss(D(x, y))   # noqa: E731
    (check_grads if conditioning == "projection" else tg.gradcheck)(fn, [D.embed.weight])
    tg.gradcheck(lambda x: F.gan_generator_loss(D(x[:2], y[:2])), [x])   # what R1 needs


@given(y=labels)
@settings(max_examples=3)
def test_generator_class_conditional_batchnorm_has_exact_derivatives(y):
    tg.random.manual_seed(0)
    G = DCGANGenerator(latent_dim=2, width=1, num_classes=3).double()
    for table in (G.label_bn1, G.label_bn2):
        table.weight.data[...] = np.random.default_rng(1).normal(0, 0.3, table.weight.shape)
    z = tg.tensor(np.random.default_rng(0).standard_normal((len(y), 2)))
    fn = lambda *tables: G(z, y).tanh().sum(axis=(1, 2, 3))   # noqa: E731
    check_grads(fn, [G.label_bn2.weight])                   # (3, 2): first and second order
    tg.gradcheck(fn, [G.label_bn1.weight])                  # (3, 128): first order


def test_unconditional_networks_keep_their_state_dict_and_conditional_ones_need_labels():
    G, D = build_models("dcgan", 8)
    assert not any("embed" in k or "label" in k for k in [*G.state_dict(), *D.state_dict()])
    assert not any("embed" in k for k in build_model("mlp", (1, 28, 28)).state_dict())
    Gc, Dc = build_models("dcgan", 8, num_classes=10)
    assert Gc.state_dict()["label_bn1.weight"].shape == (10, 2 * 256 * 4 * 4)  # 32x32 grid
    assert Gc.state_dict()["label_bn2.weight"].shape == (10, 2 * 128)
    assert Dc.state_dict()["embed.weight"].shape == (10, 256 * 4 * 4)
    with pytest.raises(ValueError, match="labels"):
        Gc(tg.tensor(np.zeros((2, 8), np.float32)))
    with pytest.raises(ValueError, match="MLP GAN is not conditional"):
        build_models("mlp", 2, num_classes=3)


def test_conditional_train_step_moves_both_label_embeddings():
    tg.random.manual_seed(0)
    G, D = build_models("dcgan", 8, num_classes=10)
    before = G.label_bn1.weight.data.copy(), D.embed.weight.data.copy()
    rng = np.random.default_rng(0)
    stats = train_step(G, D, optim.Adam(G.parameters(), 1e-3), optim.Adam(D.parameters(), 1e-3),
                       rng.uniform(-1, 1, (8, 1, 28, 28)).astype(np.float32),
                       rng.standard_normal((8, 8)).astype(np.float32), GANLoss(r1=0.1),
                       rng=rng, track=True, y_real=rng.integers(0, 10, 8),
                       y_fake=rng.integers(0, 10, 8))
    assert np.isfinite(stats["loss_d"]) and "penalty" in stats and "d_fake_after" in stats
    assert not np.array_equal(before[0], G.label_bn1.weight.data)
    assert not np.array_equal(before[1], D.embed.weight.data)


# -- the command line -------------------------------------------------------------------------
TINY_VAE = ["--limit", "64", "--batch-size", "32", "--hidden", "16", "--latent", "3"]
TINY_GAN = ["--dataset", "mnist-5k", "--limit", "64", "--batch-size", "16", "--epochs", "1"]


pytestmark = pytest.mark.usefixtures("fast_judge")   # conftest.py: an untrained judge


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cond")
    assert main(["train", "vae", "--epochs", "1", "--conditional", "--out", str(root / "cvae"),
                 *TINY_VAE]) == 0
    assert main(["train", "vae", "--epochs", "1", "--out", str(root / "vae"), *TINY_VAE]) == 0
    assert main(["train", "gan", "--conditional", "--out", str(root / "cgan"), *TINY_GAN]) == 0
    return root


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_conditional_runs_store_their_labels_and_write_the_figures(runs):
    for name in ("cvae", "cgan"):
        cfg = json.loads((runs / name / "config.json").read_text())
        assert (cfg["conditional"], cfg["num_classes"], cfg["classes"]) == (True, 10, DIGITS)
    assert json.loads((runs / "vae" / "config.json").read_text())["conditional"] is False
    for name in ("samples.png", "interpolations.png", "traversals.png"):
        assert (runs / "cvae" / name).is_file() and (runs / "vae" / name).is_file()
    assert (runs / "cgan" / "interpolations.png").is_file()


def test_a_conditional_gan_works_on_the_padded_grid_and_an_old_run_on_its_own(runs):
    """New conditional runs pad 28x28 to 32x32 (three stages from 4x4); one made when they
    kept the digits' 28x28 grid (its config says so) is rebuilt on it, so its weights load."""
    from tinygen.runs import gan as rg
    cfg = json.loads((runs / "cgan" / "config.json").read_text())
    assert cfg["grid"] == [1, 32, 32]
    c = 4 * cfg["g_width"]
    assert rg.Trainer(cfg).G.label_bn1.weight.shape == (10, 2 * c * 4 * 4)
    old = rg.Trainer({**cfg, "grid": [1, 28, 28]})
    assert old.G.label_bn1.weight.shape == (10, 2 * (c // 2) * 7 * 7)    # two stages from 7x7


@pytest.mark.parametrize("name", ["cvae", "cgan"])
def test_sample_by_label_or_cycling_through_the_classes(runs, tmp_path, name):
    cyc, seven = tmp_path / "cyc.npy", tmp_path / "seven.npy"
    assert main(["sample", str(runs / name), "-n", "12", "--out", str(cyc)]) == 0
    assert main(["sample", str(runs / name), "-n", "12", "--label", "7", "--out",
                 str(seven)]) == 0
    a, b = np.load(cyc), np.load(seven)
    assert a.shape == b.shape == (12, 1, 28, 28)
    # the same noise per index: sample 7 of the cycle (class 7) equals sample 7 of --label 7
    np.testing.assert_array_equal(a[7], b[7])
    assert not np.array_equal(a[3], b[3])


def test_encode_writes_posterior_means_and_labels(runs, tmp_path):
    out = tmp_path / "codes.npz"
    assert main(["encode", str(runs / "vae"), "--split", "train", "--out", str(out)]) == 0
    with np.load(out, allow_pickle=False) as f:
        assert sorted(f.files) == ["mu", "y"]
        assert f["mu"].shape == (4000, 3) and f["mu"].dtype == np.float32
        assert f["y"].shape == (4000,) and f["y"].dtype == np.int64


def test_eval_reports_knn_fid_and_label_agreement(runs, capsys):
    assert main(["eval", str(runs / "cvae"), "--iw-samples", "2", "--n-samples", "200",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"knn_accuracy", "knn_accuracy_pixels", "fid_classifier", "kid_classifier",
            "fid_classifier_real", "label_agreement"} <= result.keys()
    assert 0 <= result["knn_accuracy"] <= 1 and len(result["label_agreement_per_class"]) == 10
    assert main(["eval", str(runs / "cgan"), "--n-samples", "100", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"classifier_is", "fid_classifier", "label_agreement", "one_piece", "clean",
            "clean_real", "crisp", "clean_crisp", "clean_crisp_real"} <= result.keys()
    assert result["fid_classifier"] > 0
    assert 0 <= result["clean"] <= result["one_piece"] <= 1 and 0 <= result["clean_real"] <= 1
    assert result["clean_crisp"] <= min(result["clean"], result["crisp"])
    assert 0 <= result["clean_crisp_real"] <= result["clean_real"]   # the judge is untrained here


def test_conditional_on_unlabelled_data_is_refused_before_writing(tmp_path, capsys):
    images = tmp_path / "unlabelled.npy"
    np.save(images, np.random.default_rng(0).uniform(0, 1, (20, 28, 28)).astype(np.float32))
    for argv in (["train", "vae", "--dataset", str(images)],
                 ["train", "gan", "--dataset", "ring8"]):
        out = tmp_path / "never"
        assert main([*argv, "--conditional", "--out", str(out)]) == 1
        assert "--conditional needs labelled images" in _one_error_line(capsys)
        assert not out.exists()


@pytest.mark.parametrize("run,label,needle", [
    ("cgan", "10", "unknown class"), ("cvae", "seven", "unknown class"),
    ("cvae", "-1", "unknown class"), ("vae", "3", "not conditional")])
def test_bad_labels_are_refused_with_one_line_and_no_file(runs, tmp_path, capsys, run, label,
                                                          needle):
    out = tmp_path / "s.npy"
    assert main(["sample", str(runs / run), "-n", "3", "--label", label, "--out",
                 str(out)]) == 1
    assert needle in _one_error_line(capsys) and not out.exists()


def test_encode_refuses_a_gan_run(runs, tmp_path, capsys):
    out = tmp_path / "codes.npz"
    assert main(["encode", str(runs / "cgan"), "--out", str(out)]) == 1
    assert "encode needs a VAE run" in _one_error_line(capsys) and not out.exists()


def test_label_names_and_indices_resolve_against_the_run_config():
    from tinygen.runs.labels import label_config, resolve_label, sample_labels
    cfg = {"conditional": True,
           **label_config("images", np.array([0, 1, 1]), ["cat", "dog"], True, "pets")}
    assert (cfg["num_classes"], cfg["classes"]) == (2, ["cat", "dog"])
    assert resolve_label(cfg, "dog") == 1 and resolve_label(cfg, "0") == 0
    with pytest.raises(ValueError, match="names cat, dog or indices 0..1"):
        resolve_label(cfg, "2")
    np.testing.assert_array_equal(sample_labels(cfg, 5), [0, 1, 0, 1, 0])
    assert label_config("images", np.array([3, 9]), None, False, "d")["num_classes"] == 10
