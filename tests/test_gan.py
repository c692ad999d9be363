"""The GAN: the two players are trained separately, penalties have exact gradients, the models
have the documented shapes, and runs (CLI and examples) train, resume, stop and sample."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygen as tg
from tinygen import functional as F
from tinygen import nn, optim
from tinygen.gan import (GANLoss, LeCamAnchors, build_models, diff_augment, r1_penalty,
                         recalibrate_batchnorm, train_step, truncated_noise, update_ema,
                         wgan_gradient_penalty)
from tinygen.gradcheck import gradcheck
from tinygen.testing import arrays, check_grads

ROOT = Path(__file__).resolve().parents[1]


def _params(module):
    return [p.data.copy() for p in module.parameters()]


def _spy(opt, own, other, name, events):
    """Wrap opt.step: record, around the real step, whether `own` moved, whether `other`
    moved, and whether any of `other`'s parameters holds a gradient."""
    real_step = opt.step

    def step():
        own_before, other_before = _params(own), _params(other)
        other_has_grad = any(p.grad is not None for p in other.parameters())
        real_step()
        own_moved = any(not np.array_equal(a, p.data) for a, p in zip(own_before,
                                                                      own.parameters()))
        other_moved = any(not np.array_equal(a, p.data) for a, p in zip(other_before,
                                                                        other.parameters()))
        events.append((name, own_moved, other_moved, other_has_grad))
    opt.step = step


@pytest.mark.parametrize("kind,r1", [("non_saturating", 0.0), ("minimax", 1.0),
                                     ("wgan-gp", 0.0)])
def test_train_step_trains_each_player_without_touching_the_other(kind, r1):
    tg.random.manual_seed(0)
    G, D = build_models("mlp", 2, 16)
    opt_G, opt_D = optim.Adam(G.parameters(), 1e-2), optim.Adam(D.parameters(), 1e-2)
    events = []
    _spy(opt_D, D, G, "D", events)
    _spy(opt_G, G, D, "G", events)
    rng = np.random.default_rng(0)
    stats = train_step(G, D, opt_G, opt_D, rng.standard_normal((32, 2)).astype(np.float32),
                       rng.standard_normal((32, 2)).astype(np.float32), GANLoss(kind, r1=r1),
                       rng=rng, track=True)
    # steps 5, 7, 9 in order; each moves its own player only, and the other holds no gradient
    assert events == [("D", True, False, False), ("G", True, False, False),
                      ("D", True, False, False)]
    assert all(p.grad is None for p in [*G.parameters(), *D.parameters()])
    assert {"loss_d", "loss_g", "d_real", "d_fake", "d_fake_g", "d_fake_after"} <= set(stats)
    assert all(np.isfinite(v) for v in stats.values())


def _tiny_discriminator(w1, b1, w2):
    return lambda x: F.linear(F.linear(x, w1, b1).tanh(), w2)


def test_r1_penalty_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.standard_normal((5, 2)))
    weights = [tg.tensor(rng.standard_normal(s), requires_grad=True) for s in [(3, 2), (3,),
                                                                               (1, 3)]]
    gradcheck(lambda w1, b1, w2: r1_penalty(_tiny_discriminator(w1, b1, w2), x)[0], weights)


def test_r1_penalty_of_a_linear_discriminator_is_half_the_squared_weight_norm():
    w = tg.tensor(np.array([[3.0, -4.0]]), requires_grad=True)
    penalty, logits = r1_penalty(lambda x: F.linear(x, w), tg.tensor(np.ones((7, 2))))
    assert penalty.item() == pytest.approx(12.5)
    assert logits.shape == (7, 1)
    (g,) = tg.grad(penalty, [w])
    np.testing.assert_allclose(g.data, w.data)   # d/dw 0.5 |w|^2 = w


def test_wgan_gradient_penalty_gradient_matches_finite_differences():
    rng = np.random.default_rng(2)
    real, fake = (tg.tensor(rng.standard_normal((4, 2))) for _ in range(2))
    weights = [tg.tensor(rng.standard_normal(s), requires_grad=True) for s in [(3, 2), (3,),
                                                                               (1, 3)]]
    gradcheck(lambda w1, b1, w2: wgan_gradient_penalty(
        _tiny_discriminator(w1, b1, w2), real, fake, np.random.default_rng(0)), weights)


def test_loss_halves_add_up_to_the_discriminator_loss_of_functional():
    rng = np.random.default_rng(3)
    real, fake = (tg.tensor(rng.standard_normal((6, 1)).astype(np.float32)) for _ in range(2))
    loss = GANLoss(real_label=0.9)
    total = loss.discriminator_real(real).item() + loss.discriminator_fake(fake).item()
    assert total == pytest.approx(F.gan_discriminator_loss(real, fake, 0.9).item(), rel=1e-6)
    assert GANLoss("minimax").generator(fake).item() == pytest.approx(
        -np.mean(np.log1p(np.exp(fake.data))), rel=1e-5)
    with pytest.raises(ValueError, match="hinge"):
        GANLoss("hinge")


@pytest.mark.parametrize("side", ["real", "fake"])
@given(st.integers(1, 6), st.floats(-3, 3), st.floats(-3, 3), st.data())
def test_lecam_penalty_matches_its_definition_and_gradchecks(side, n, a_real, a_fake, data):
    """real: E[relu(l - a_fake)^2], fake: E[relu(a_real - l)^2]; first and second order."""
    logits = data.draw(arrays((n, 1), min_value=-5, max_value=5), label="logits")
    other = a_fake if side == "real" else a_real
    assume(np.all(np.abs(logits - other) > 1e-3))     # off the kink of relu(gap)^2's slope
    anchors = LeCamAnchors()
    anchors.real.data[0], anchors.fake.data[0] = a_real, a_fake
    gap = logits - a_fake if side == "real" else a_real - logits
    penalty = anchors.penalty(side, tg.tensor(logits))
    assert penalty.item() == pytest.approx(np.mean(np.maximum(gap, 0) ** 2), rel=1e-12, abs=1e-12)
    check_grads(lambda l: anchors.penalty(side, l), [tg.tensor(logits, requires_grad=True)])


def test_lecam_anchors_start_at_the_first_batch_then_average():
    anchors = LeCamAnchors(decay=0.9)
    first = anchors.penalty("fake", tg.tensor(np.array([[1.0], [3.0]])))
    assert first.item() == 0 and anchors.fake.data[0] == 2.0 and np.isnan(anchors.real.data[0])
    assert anchors.penalty("real", tg.tensor(np.array([[4.0]]))).item() == 0   # its first call
    assert anchors.real.data[0] == 4.0
    # fake anchor 0.9 * 2 + 0.1 * 2.5; penalty mean(relu(4 - [0, 5])^2) = 16 / 2
    assert anchors.penalty("fake", tg.tensor(np.array([[0.0], [5.0]]))).item() == 8.0
    assert anchors.fake.data[0] == pytest.approx(2.05)


def test_gan_loss_adds_the_lecam_penalty_to_both_halves_of_d_only():
    rng = np.random.default_rng(4)
    real, fake = (tg.tensor(rng.standard_normal((6, 1))) for _ in range(2))
    plain, lecam = GANLoss(), GANLoss(lecam=0.5)
    for _ in range(2):      # the first call on each side sets its anchor; the second pays
        on_fake, on_real = lecam.discriminator_fake(fake), lecam.discriminator_real(real)
    a_real, a_fake = lecam.anchors.real.data[0], lecam.anchors.fake.data[0]
    assert on_fake.item() == pytest.approx(plain.discriminator_fake(fake).item() + 0.5 * np.mean(
        np.maximum(a_real - fake.data, 0) ** 2))
    assert on_real.item() == pytest.approx(plain.discriminator_real(real).item() + 0.5 * np.mean(
        np.maximum(real.data - a_fake, 0) ** 2))
    assert lecam.generator(fake).item() == plain.generator(fake).item()
    assert plain.anchors is None
    with pytest.raises(ValueError, match="LeCam weight must be >= 0"):
        GANLoss(lecam=-1)


def test_an_image_gan_resumed_with_its_lecam_anchors_is_the_run_that_never_stopped(tmp_path):
    """The anchors are checkpointed (model "lecam"), so a resume goes on bit for bit. A constant
    learning rate: with a decaying one, --epochs changes the schedule of the first epoch too."""
    from tinygen import cli
    args = ["train", "gan", "--dataset", "mnist-5k", "--limit", "64", "--batch-size", "16",
            "--lr-final", "1", "--figures-every", "0", "--g-width", "8", "--d-width", "4",
            "--lecam", "0.1"]
    assert cli.main([*args, "--epochs", "2", "--out", str(tmp_path / "straight")]) == 0
    assert cli.main([*args, "--epochs", "1", "--out", str(tmp_path / "resumed")]) == 0
    assert cli.main([*args, "--epochs", "2", "--out", str(tmp_path / "resumed"), "--resume"]) == 0
    straight, resumed = (np.load(tmp_path / name / "last.npz") for name in ("straight",
                                                                             "resumed"))
    arrays_ = [k for k in straight.files if k.startswith("model/")]
    assert {"model/lecam/real", "model/lecam/fake"} <= set(arrays_)
    assert np.isfinite(straight["model/lecam/real"]).all()
    for key in arrays_:
        assert np.array_equal(straight[key], resumed[key]), key


def test_an_image_gan_draws_its_figures_every_fifth_epoch_and_at_the_end(tmp_path):
    """Figures cost ~9 % of an MNIST epoch, so an image run draws them every 5th epoch by
    default (--figures-every overrides); they draw no random numbers, so training is the same."""
    from tinygen import cli
    args = ["train", "gan", "--dataset", "mnist-5k", "--limit", "32", "--batch-size", "16",
            "--epochs", "6", "--g-width", "8", "--d-width", "4"]
    assert cli.main([*args, "--out", str(tmp_path / "default")]) == 0
    assert cli.main([*args, "--out", str(tmp_path / "every"), "--figures-every", "1"]) == 0
    drawn = sorted(p.name for p in (tmp_path / "default").glob("samples_epoch*.png"))
    assert drawn == ["samples_epoch005.png", "samples_epoch006.png"]
    assert len(list((tmp_path / "every").glob("samples_epoch*.png"))) == 6
    default, every = (np.load(tmp_path / name / "last.npz") for name in ("default", "every"))
    assert all(np.array_equal(default[k], every[k]) for k in default.files if "/" in k)


def test_update_ema_averages_parameters():
    tg.random.manual_seed(0)
    G, _ = build_models("mlp", 2, 8)
    E, _ = build_models("mlp", 2, 8)
    before = _params(E)
    update_ema(E, G, 0.9)
    for b, g, e in zip(before, G.parameters(), E.parameters()):
        np.testing.assert_allclose(e.data, 0.9 * b + 0.1 * g.data, rtol=1e-6)


def test_ema_generator_gets_its_own_batchnorm_statistics():
    """update_ema copies G's running statistics, which do not fit the averaged weights;
    after recalibrate_batchnorm, eval mode on z reproduces train mode (batch stats) on z."""
    tg.random.manual_seed(0)
    G, _ = build_models("dcgan", 8)
    E, _ = build_models("dcgan", 8)
    z = tg.tensor(np.random.default_rng(0).standard_normal((400, 8)).astype(np.float32))
    with tg.no_grad():
        G.train()(z)                          # G's running stats: those of G's activations
        update_ema(E, G, 0.5)
        batch_stats = E.train()(z).data
        copied = E.eval()(z).data
    recalibrate_batchnorm(E, z)
    assert not E.training
    with tg.no_grad():
        own = E(z).data
    assert np.abs(copied - batch_stats).max() > 10 * np.abs(own - batch_stats).max()
    np.testing.assert_allclose(own, batch_stats, atol=5e-3)
    assert all(m.momentum == 0.1 for m in E.modules() if hasattr(m, "running_mean"))


def test_dcgan_shapes_range_and_init():
    tg.random.manual_seed(0)
    G, D = build_models("dcgan", 16)
    with tg.no_grad():
        x = G(tg.tensor(np.random.default_rng(0).standard_normal((3, 16)).astype(np.float32)))
        assert x.shape == (3, 1, 28, 28) and x.dtype == np.float32
        assert np.abs(x.data).max() <= 1
        assert D(x).shape == (3, 1)
    conv_w = D.net[1].weight.data   # net[0] pads to the 32x32 grid
    assert abs(conv_w.std() - 0.02) < 0.004 and abs(conv_w.mean()) < 0.004


def test_diff_augment_keeps_shape_and_passes_gradients():
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((3, 1, 8, 8)), requires_grad=True)
    y = diff_augment(x, np.random.default_rng(1), shift=2, cutout=4)
    assert y.shape == x.shape
    gradcheck(lambda x: diff_augment(x, np.random.default_rng(1), shift=2, cutout=4), [x])
    same = diff_augment(x, np.random.default_rng(1), shift=0, cutout=0)
    np.testing.assert_array_equal(same.data, x.data)


def test_augmentation_names_translation_without_cutout_and_reads_old_configs():
    from tinygen.gan import augmentation
    x = np.random.default_rng(0).uniform(-1, 1, (4, 1, 8, 8))
    moved = augmentation("translation")(tg.tensor(x), np.random.default_rng(1)).data
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)), constant_values=-1)
    for i in range(4):                        # each image is one shift by at most 2 pixels
        shifts = [padded[i, 0, 2 - dy:10 - dy, 2 - dx:10 - dx]
                  for dy in range(-2, 3) for dx in range(-2, 3)]
        assert any(np.array_equal(s, moved[i, 0]) for s in shifts)
    assert augmentation("none") is None and augmentation(False) is None
    assert augmentation(True) is not None             # configs from before the names
    with pytest.raises(ValueError, match="augmentation must be one of"):
        augmentation("rotate")


def test_cli_trains_resumes_evaluates_and_samples_a_2d_gan(tmp_path, monkeypatch, capsys):
    from tinygen import cli
    monkeypatch.setenv("TINYGEN_PROGRESS", "0")
    out = tmp_path / "run"

    def run(*argv):
        status = cli.main(list(argv))
        captured = capsys.readouterr()
        assert status == 0, captured.err
        return captured.out
    run("train", "gan", "--dataset", "ring8", "--steps", "20", "--steps-per-epoch", "10",
        "--batch-size", "32", "--beta1", "0.3", "--out", str(out))
    config = json.loads((out / "config.json").read_text())
    assert (config["beta1"], config["beta2"]) == (0.3, 0.99)   # a flag, and a default
    for name in ("config.json", "metrics.jsonl", "last.npz", "loss.png", "density.png",
                 "density.gif"):
        assert (out / name).is_file(), name
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if "step" in r]
    assert steps and {"d_real", "d_fake", "d_fake_g", "d_fake_after", "loss_d",
                      "loss_g"} <= set(steps[0])
    assert [r["epoch"] for r in records if "step" not in r] == [0, 1]
    assert "epoch 3/3" in run("train", "gan", "--steps", "30", "--out", str(out), "--resume")
    result = json.loads(run("eval", str(out), "--json", "--n-samples", "300").splitlines()[-1])
    assert {"modes", "hq_pct", "reverse_kl"} <= set(result) and 0 <= result["modes"] <= 8
    run("sample", str(out), "-n", "7", "--out", str(tmp_path / "s.npy"))
    s = np.load(tmp_path / "s.npy")
    assert s.shape == (7, 2) and s.dtype == np.float32
    # --truncation: other noise, so other points; eval says it scored truncated samples
    run("sample", str(out), "-n", "7", "--truncation", "0.5", "--out", str(tmp_path / "t.npy"))
    t = np.load(tmp_path / "t.npy")
    assert t.shape == (7, 2) and not np.array_equal(s, t)
    result = json.loads(run("eval", str(out), "--json", "--n-samples", "300",
                            "--truncation", "1").splitlines()[-1])
    assert result["truncation"] == 1.0 and 0 <= result["modes"] <= 8


@given(st.integers(1, 40), st.integers(1, 6), st.floats(0.05, 4.0), st.integers(0, 2 ** 16))
def test_truncated_noise_redraws_exactly_the_entries_beyond_the_threshold(n, dim, t, seed):
    plain = truncated_noise(np.random.default_rng(seed), n, dim)
    np.testing.assert_array_equal(plain, np.random.default_rng(seed).standard_normal((n, dim)))
    z = truncated_noise(np.random.default_rng(seed), n, dim, t)
    assert z.shape == (n, dim) and np.all(np.abs(z) <= t)
    near = np.abs(plain) <= t           # the first draw's entries within the bound are kept
    np.testing.assert_array_equal(z[near], plain[near])
    with pytest.raises(ValueError, match="truncation threshold must be > 0"):
        truncated_noise(np.random.default_rng(seed), n, dim, -t)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch,
                                                                  capsys):
    from tinygen import cli
    from tinygen.checkpoint import load_meta
    from tinygen.runs import gan_trainer
    real_step, calls = gan_trainer.train_step, []

    def poisoned(*args, **kwargs):
        stats = real_step(*args, **kwargs)
        calls.append(1)
        return {**stats, "loss_g": float("nan")} if len(calls) > 5 else stats
    monkeypatch.setattr(gan_trainer, "train_step", poisoned)
    monkeypatch.setenv("TINYGEN_PROGRESS", "0")
    out = tmp_path / "run"
    status = cli.main(["train", "gan", "--steps", "12", "--steps-per-epoch", "4",
                       "--out", str(out)])
    assert status == 3
    assert "non-finite" in capsys.readouterr().err
    assert load_meta(out / "last.npz")["epoch"] == 1


@pytest.mark.parametrize("script,args", [
    ("gan_2d.py", ["--steps", "15"]),
    ("dcgan_mnist.py", ["--steps", "2", "--batch-size", "8", "--limit", "64"]),
    ("cgan_mnist.py", ["--steps", "2", "--batch-size", "8", "--limit", "64"]),
])
def test_examples_run_with_a_tiny_budget(tmp_path, script, args):
    r = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args, "--out",
                        str(tmp_path)], capture_output=True, text=True, cwd=tmp_path,
                       env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "samples.png").is_file()


@pytest.mark.parametrize("argv,message", [
    (["--ema", "1.5"], "--ema 1.5 is out of range"),
    (["--beta2", "1"], "--beta2 1.0 is out of range"),
    (["--model", "dcgan"], "--model dcgan does not fit 'ring8'"),
    (["--dataset", "mnist-5k", "--steps", "3"], "--steps is for 2D data"),
    (["--d-width", "16"], "--d-width is for the DCGAN (image data)"),
    (["--lecam", "-0.1"], "--lecam -0.1 is out of range"),
])
def test_bad_gan_flags_fail_with_one_line_before_writing(tmp_path, capsys, argv, message):
    from tinygen import cli
    assert cli.main(["train", "gan", *argv, "--out", str(tmp_path / "run")]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("shape, grids", [
    ((1, 28, 28), [(256, 4, 4), (128, 8, 8), (64, 16, 16), (1, 32, 32)]),   # padded to 32x32
    ((3, 32, 32), [(256, 4, 4), (128, 8, 8), (64, 16, 16), (3, 32, 32)]),
    ((3, 64, 64), [(512, 4, 4), (256, 8, 8), (128, 16, 16), (64, 32, 32), (3, 64, 64)]),
])
def test_dcgan_pair_is_built_from_the_image_shape(shape, grids):
    G, D = build_models("dcgan", 8, shape=shape)
    x = tg.tensor(np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32))
    seen = []
    for layer in G.net:
        x = layer(x)
        if x.ndim == 4 and type(layer).__name__ in ("Unflatten", "ConvTranspose2d"):
            seen.append(x.shape[1:])
    assert seen == grids
    assert x.shape[1:] == shape                  # the grid's border is cropped off
    assert D(x).shape == (2, 1)


def test_the_28x28_dcgan_pads_its_input_and_crops_its_output_with_the_background():
    G, D = build_models("dcgan", 8)
    assert type(G.net[-1]).__name__ == "Crop2d" and G.net[-1].padding == (2, 2, 2, 2)
    assert type(D.net[0]).__name__ == "Pad2d" and D.net[0].value == -1.0
    x = np.random.default_rng(0).uniform(-1, 1, (2, 1, 28, 28)).astype(np.float32)
    padded = D.net[0](tg.tensor(x)).data
    assert padded.shape == (2, 1, 32, 32) and np.array_equal(padded[:, :, 2:30, 2:30], x)
    assert np.all(padded[:, :, :2] == -1) and np.all(padded[:, :, :, -2:] == -1)


def test_the_unpadded_28x28_dcgan_keeps_its_layers():
    """Runs made before the grid (config without "grid") are rebuilt on their own shape: the
    old MNIST layers and names, so their checkpoints still load."""
    G, D = build_models("dcgan", 100, grid=(1, 28, 28))
    assert [(k, v.shape) for k, v in G.state_dict().items() if "running" not in k][:4] == [
        ("net.0.weight", (6272, 100)), ("net.0.bias", (6272,)), ("net.1.weight", (6272,)),
        ("net.1.bias", (6272,))]
    assert {k: v.shape for k, v in D.state_dict().items()} == {
        "net.0.weight": (64, 1, 4, 4), "net.0.bias": (64,), "net.2.weight": (128, 64, 4, 4),
        "net.2.bias": (128,), "net.5.weight": (1, 6272), "net.5.bias": (1,)}


def test_dcgan_widths_come_from_the_config_and_old_runs_keep_radfords():
    """g_width / d_width: the channels of G's last stage and D's first. A run made before they
    were flags (no keys in its config.json) is rebuilt with 64 and 64, so its checkpoint loads."""
    from tinygen.runs import gan as rg
    data = rg.load_data({"dataset": "mnist-5k", "limit": 64})
    cfg = rg.make_config({"dataset": "mnist-5k", "g_width": 8, "d_width": 4}, data)
    trainer = rg.Trainer(cfg)
    assert trainer.G.state_dict()["net.4.weight"].shape == (32, 16, 4, 4)  # 32 -> 16 -> 8 -> 1
    assert trainer.D.state_dict()["net.2.weight"].shape == (4, 2, 4, 4)    # 2 -> 4 -> 8 -> 16
    old = {k: v for k, v in cfg.items() if k not in ("g_width", "d_width", "d_ink")}
    trainer = rg.Trainer(old)
    assert trainer.G.state_dict()["net.4.weight"].shape == (256, 128, 4, 4)
    assert trainer.D.state_dict()["net.1.weight"].shape == (64, 1, 4, 4)
    defaults = rg.make_config({"dataset": "mnist-5k"}, data)
    conditional = rg.make_config({"dataset": "mnist-5k", "conditional": True}, data)
    assert (defaults["g_width"], defaults["d_width"]) == (48, 32) == (
        rg.DEFAULTS["images"]["g_width"], rg.DEFAULTS["images"]["d_width"])
    assert (conditional["g_width"], conditional["d_width"]) == (48, 32)


def test_image_runs_pick_their_recipe_by_colour_and_a_flag_still_wins(tmp_path):
    """Grey images train in DEFAULTS' batches (24 at 6.9e-4, EMA 0.999) on k-means clusters
    (100, at most one per IMAGES_PER_CLUSTER images) for 40 epochs, unconditional colour images
    in COLOUR's (32 at 8e-4, no clusters, 60 epochs: as measured on the colour digits; EMA 0.999
    too), conditional runs in the grey recipe with labels in place of the clusters and 60 epochs
    (every other number the same); a flag given on the command line beats all three, and --codes
    replaces the default clusters."""
    from tinygen.runs import gan as rg
    keys = ("batch_size", "lr", "codes", "ema", "clusters", "epochs")
    grey_data = rg.load_data({"dataset": "mnist-5k", "limit": 120})
    grey = rg.make_config({"dataset": "mnist-5k"}, grey_data)
    assert [grey[k] for k in keys] == [24, 6.9e-4, 0, 0.999, 120 // rg.IMAGES_PER_CLUSTER, 40]
    assert rg.DEFAULTS["images"]["clusters"] == 100
    assert rg.make_config({"dataset": "mnist-5k", "limit": 79},
                          rg.load_data({"dataset": "mnist-5k", "limit": 79}))["clusters"] == 0
    conditional = rg.make_config({"dataset": "mnist-5k", "conditional": True}, grey_data)
    assert [conditional[k] for k in keys] == [24, 6.9e-4, 0, 0.999, 0, 60]
    assert {k: v for k, v in conditional.items() if k in rg.DEFAULTS["images"]} == {
        **rg.DEFAULTS["images"], **rg.CONDITIONAL}
    infogan = rg.make_config({"dataset": "mnist-5k", "codes": 10}, grey_data)
    assert [infogan[k] for k in keys] == [24, 6.9e-4, 10, 0.999, 0, 40]
    np.save(tmp_path / "rgb.npy", np.random.default_rng(0).random((16, 3, 32, 32), np.float32))
    flags = {"dataset": str(tmp_path / "rgb.npy")}
    colour = rg.make_config(flags, rg.load_data(flags))
    assert [colour[k] for k in keys] == [32, 8e-4, 0, 0.999, 0, 60]
    mine = rg.make_config({**flags, "batch_size": 16, "codes": 3, "ema": 0.99, "epochs": 5},
                          rg.load_data(flags))
    assert [mine[k] for k in keys] == [16, 8e-4, 3, 0.99, 0, 5]


def test_the_refining_convolutions_come_from_the_config_and_old_runs_have_none():
    """g_refine: 3x3 conv -> BN -> ReLU layers at G's last hidden stage (48x16x16 on the MNIST
    grid at the default width), before the output stage; the output keeps its shape. A run made
    before the flag (no key in its config.json) is rebuilt without them, so its checkpoint loads.
    The conditional defaults have the same one; 2-D data refuses the flag."""
    from tinygen.runs import gan as rg
    data = rg.load_data({"dataset": "mnist-5k", "limit": 64})
    cfg = rg.make_config({"dataset": "mnist-5k", "g_refine": 2}, data)
    G = rg.Trainer(cfg).G
    convs = [m for m in G.net if isinstance(m, nn.Conv2d)]
    g = rg.DEFAULTS["images"]["g_width"]
    assert [m.weight.shape for m in convs] == [(g, g, 3, 3)] * 2
    assert G(tg.tensor(np.zeros((2, 100), np.float32)), np.zeros(2, int)).shape == (2, 1, 28, 28)
    old = rg.Trainer({k: v for k, v in cfg.items() if k != "g_refine"}).G
    assert not any(isinstance(m, nn.Conv2d) for m in old.net)
    assert rg.make_config({"dataset": "mnist-5k"}, data)["g_refine"] == \
        rg.DEFAULTS["images"]["g_refine"]
    assert rg.make_config({"dataset": "mnist-5k", "conditional": True}, data)["g_refine"] == 1
    with pytest.raises(ValueError, match="--g-refine is for the DCGAN"):
        rg.make_config({"dataset": "ring8", "g_refine": 1}, rg.load_data({"dataset": "ring8"}))
    with pytest.raises(ValueError, match="--g-refine -1 is out of range"):
        rg.make_config({"dataset": "mnist-5k", "g_refine": -1}, data)


@given(st.floats(2, 30), st.integers(1, 3), st.integers(1, 2))
def test_ink_view_keeps_x_beside_its_footprint_and_gradchecks(k, n, c):
    """InkView(k): x (N, C, H, W) -> [x, 1 - 2 exp(-k (x + 1) / 2)] on the channels: the
    background -1 stays -1, the footprint rises with the ink, faint ink ahead of x; its first
    and second derivatives match central differences."""
    from tinygen.gan.networks import InkView
    x = tg.tensor(np.random.default_rng(n).uniform(-1, 1, (n, c, 3, 4)), requires_grad=True)
    v = InkView(k)(x).data
    assert v.shape == (n, 2 * c, 3, 4)
    np.testing.assert_array_equal(v[:, :c], x.data)
    np.testing.assert_allclose(v[:, c:], 1 - 2 * np.exp(-k * (x.data + 1) / 2))
    edge = InkView(k)(tg.tensor(np.array([-1.0, -0.8, 1.0]).reshape(1, 1, 1, 3))).data[0, 1, 0]
    assert edge[0] == -1 and edge[0] < edge[1] < edge[2] and edge[1] > -0.8
    check_grads(lambda x: InkView(k)(x), [x])


def test_the_ink_view_is_the_grey_default_and_old_runs_have_none():
    """d_ink: D's first layer after the padding is an InkView and its first conv takes two
    channels a grey channel; conditional and colour runs keep D without it (not their default),
    a run made before the flag (no key in config.json) is rebuilt without it, 2-D data refuses
    the flag, and a negative k is out of range."""
    from tinygen.gan.networks import InkView
    from tinygen.runs import gan as rg
    data = rg.load_data({"dataset": "mnist-5k", "limit": 64})
    cfg = rg.make_config({"dataset": "mnist-5k"}, data)
    assert cfg["d_ink"] == rg.DEFAULTS["images"]["d_ink"] == 10
    D = rg.Trainer(cfg).D
    assert isinstance(D.net[1], InkView) and D.net[1].k == 10
    assert D.net[2].weight.shape[1] == 2
    assert D(tg.tensor(np.zeros((2, 1, 28, 28), np.float32)), np.zeros(2, int)).shape == (2, 1)
    old = rg.Trainer({k: v for k, v in cfg.items() if k != "d_ink"}).D
    assert not any(isinstance(m, InkView) for m in old.net) and old.net[1].weight.shape[1] == 1
    assert rg.make_config({"dataset": "mnist-5k", "conditional": True}, data)["d_ink"] == 0
    assert rg.make_config({"dataset": "mnist-5k", "conditional": True, "d_ink": 5.0},
                          data)["d_ink"] == 5
    with pytest.raises(ValueError, match="--d-ink is for the DCGAN"):
        rg.make_config({"dataset": "ring8", "d_ink": 1.0}, rg.load_data({"dataset": "ring8"}))
    with pytest.raises(ValueError, match="--d-ink -1.0 is out of range"):
        rg.make_config({"dataset": "mnist-5k", "d_ink": -1.0}, data)


@pytest.mark.parametrize("shape", [(1, 9, 9), (3, 6, 6), (1, 130, 130)])
def test_a_size_the_image_models_cannot_build_is_refused_naming_it(shape):
    with pytest.raises(ValueError, match=f"got {shape[1]}x{shape[2]}; resize"):
        build_models("dcgan", 8, shape=shape)
@pytest.mark.parametrize("script", ["dcgan_mnist.py", "cgan_mnist.py"])
def test_image_examples_train_the_cli_default_recipe(script):
    """dcgan_mnist.py: `tinygen train gan`'s image defaults; cgan_mnist.py: the same with the
    conditional run's overrides."""
    import importlib.util
    from tinygen.runs.gan import CONDITIONAL, DEFAULTS
    spec = importlib.util.spec_from_file_location(script[:-3], ROOT / "examples" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    recipe = {**DEFAULTS["images"], **(CONDITIONAL if script == "cgan_mnist.py" else {})}
    assert module.RECIPE == {k: recipe[k] for k in module.RECIPE}
