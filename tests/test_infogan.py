"""InfoGAN's categorical codes (--codes K): D's code head has exact derivatives, the code loss
is the cross-entropy of its definition and is added where the docstring says, train_step moves
the code head and G's code tables, and a run with codes trains, samples, scores and refuses bad
flags."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygen as tg
from tinygen import functional as F
from tinygen import optim
from tinygen.cli import main
from tinygen.gan import DCGANDiscriminator, GANLoss, build_models, code_loss, train_step
from tinygen.testing import check_grads

codes_ = st.lists(st.integers(0, 2), min_size=2, max_size=4).map(np.array)


@given(c=codes_)
@settings(max_examples=2, deadline=None)
def test_code_loss_is_the_cross_entropy_of_the_code_head_with_exact_derivatives(c):
    tg.random.manual_seed(0)
    D = DCGANDiscriminator(width=1, codes=3, image_shape=(1, 16, 16)).double()
    D.q.weight.data[...] = np.random.default_rng(0).normal(0, 0.3, D.q.weight.shape)
    x = tg.tensor(np.random.default_rng(1).uniform(-1, 1, (len(c), 1, 16, 16)),
                  requires_grad=True)
    logits, loss = code_loss(D, x, c)
    assert np.array_equal(logits.data, D(x).data)          # the same logits as without codes
    _, q = D(x, codes=True)
    log_q = q.data - np.log(np.exp(q.data).sum(axis=1, keepdims=True))
    assert loss.item() == pytest.approx(-np.mean(log_q[np.arange(len(c)), c]), rel=1e-12)
    check_grads(lambda w: code_loss(D, x, c)[1], [D.q.weight])   # first and second order
    x1 = tg.tensor(x.data[:1], requires_grad=True)              # what G's update needs
    tg.gradcheck(lambda x1: code_loss(D, x1, c[:1])[1], [x1])
    assert code_loss(D, x, None)[1] is None


def test_gan_loss_adds_the_weighted_code_loss_to_d_on_fakes_and_to_g_only():
    rng = np.random.default_rng(2)
    fake, real = (tg.tensor(rng.standard_normal((5, 1))) for _ in range(2))
    code = tg.tensor(np.array(0.7))
    plain, info = GANLoss(), GANLoss(info=0.5)
    assert info.discriminator_fake(fake, code).item() == pytest.approx(
        plain.discriminator_fake(fake).item() + 0.35)
    assert info.generator(fake, code).item() == pytest.approx(plain.generator(fake).item() + 0.35)
    assert info.discriminator_real(real).item() == plain.discriminator_real(real).item()
    assert info.generator(fake).item() == plain.generator(fake).item()   # no codes: no term


def test_train_step_with_codes_moves_the_code_head_and_the_code_tables_of_g():
    tg.random.manual_seed(0)
    G, D = build_models("dcgan", 8, widths=(4, 4), codes=10)
    assert G.label_bn1.weight.shape[0] == 10 and D.q.weight.shape == (10, 4 * 4 * 16)
    before = G.label_bn2.weight.data.copy(), D.q.weight.data.copy()
    rng = np.random.default_rng(0)
    stats = train_step(G, D, optim.Adam(G.parameters(), 1e-3), optim.Adam(D.parameters(), 1e-3),
                       rng.uniform(-1, 1, (8, 1, 28, 28)).astype(np.float32),
                       rng.standard_normal((8, 8)).astype(np.float32), GANLoss(), rng=rng,
                       track=True, codes=rng.integers(0, 10, 8))
    assert 0 < stats["code_loss"] < 2 * np.log(10) and np.isfinite(stats["d_fake_after"])
    assert not np.array_equal(before[0], G.label_bn2.weight.data)
    assert not np.array_equal(before[1], D.q.weight.data)
    with pytest.raises(ValueError, match="no code head"):
        build_models("dcgan", 8)[1](tg.tensor(np.zeros((1, 1, 28, 28), np.float32)), codes=True)
    with pytest.raises(ValueError, match="unconditional DCGAN"):
        build_models("dcgan", 8, num_classes=10, codes=10)


def test_codes_come_from_the_config_and_old_and_conditional_runs_have_none():
    """--codes K gives an image run K codes (the default has none: it has k-means clusters); a
    run made before the flag (no key in its config.json) is rebuilt without them, so its
    checkpoint loads; a conditional run has its labels instead."""
    from tinygen.runs import gan as rg
    data = rg.load_data({"dataset": "mnist-5k", "limit": 64})
    assert rg.make_config({"dataset": "mnist-5k"}, data)["codes"] == 0
    cfg = rg.make_config({"dataset": "mnist-5k", "codes": 10}, data)
    assert cfg["codes"] == 10 and cfg["clusters"] == 0
    assert rg.Trainer(cfg).D.q.weight.shape[0] == 10
    old = rg.Trainer({k: v for k, v in cfg.items() if k not in ("codes", "info")})
    assert old.codes == 0 and not hasattr(old.D, "q") and old.generator_labels(3) is None
    assert rg.make_config({"dataset": "mnist-5k", "conditional": True}, data)["codes"] == 0


# -- the command line -------------------------------------------------------------------------
TINY = ["train", "gan", "--dataset", "mnist-5k", "--limit", "64", "--batch-size", "16",
        "--epochs", "1", "--g-width", "8", "--d-width", "4", "--codes", "4"]


pytestmark = pytest.mark.usefixtures("fast_judge")   # conftest.py: an untrained judge


def test_a_run_with_codes_trains_samples_and_scores_without_label_agreement(tmp_path, capsys):
    import json
    run = tmp_path / "info"
    assert main([*TINY, "--out", str(run)]) == 0
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["codes"] == 4 and cfg["conditional"] is False and cfg["grid"] == [1, 32, 32]
    weights = np.load(run / "last.npz")
    assert weights["model/G/label_bn1.weight"].shape[0] == 4 and "model/D/q.weight" in weights
    assert (run / "codes.png").is_file() and (run / "samples.png").is_file()
    assert main(["sample", str(run), "-n", "6", "--out", str(tmp_path / "s.png")]) == 0
    # --code C: every sample drawn with code C; the same noise, so sample 2 (code 2 when the
    # codes cycle) is the same picture either way, and sample 0 (code 0 when cycling) is not
    assert main(["sample", str(run), "-n", "6", "--out", str(tmp_path / "cycle.npy")]) == 0
    assert main(["sample", str(run), "-n", "6", "--code", "2",
                 "--out", str(tmp_path / "two.npy")]) == 0
    cycle, two = np.load(tmp_path / "cycle.npy"), np.load(tmp_path / "two.npy")
    assert np.array_equal(cycle[2], two[2]) and not np.array_equal(cycle[0], two[0])
    capsys.readouterr()
    for flags, message in ((["--code", "4"], "--code 4: this run's codes are 0..3"),
                           (["--label", "1"], "this run is not conditional")):
        out = tmp_path / "bad.npy"
        assert main(["sample", str(run), "-n", "2", *flags, "--out", str(out)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
        assert not out.exists()
    assert main(["eval", str(run), "--json", "--n-samples", "64"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert "classifier_is" in scores and "label_agreement" not in scores


@pytest.mark.parametrize("argv,message", [
    (["--codes", "1"], "--codes 1 is out of range"),
    (["--codes", "10", "--conditional"], "--codes is for an unconditional run"),
    (["--info", "-1"], "--info -1.0 is out of range"),
])
def test_bad_code_flags_fail_with_one_line_before_writing(tmp_path, capsys, argv, message):
    assert main([*TINY[:-2], *argv, "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "run").exists()


def test_codes_are_for_image_data(tmp_path, capsys):
    assert main(["train", "gan", "--codes", "4", "--out", str(tmp_path / "run")]) == 1
    assert "--codes is for the DCGAN" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    # a run without codes refuses --code when sampling, with one line, writing nothing
    assert main(["train", "gan", "--steps", "2", "--out", str(tmp_path / "ring")]) == 0
    capsys.readouterr()
    out = tmp_path / "s.npy"
    assert main(["sample", str(tmp_path / "ring"), "-n", "4", "--code", "0",
                 "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "this run has no categorical codes" in err[0], err
    assert not out.exists()


def test_colour_images_get_no_codes_or_clusters_unless_asked(tmp_path):
    """Grey images default to k-means clusters and no codes; colour ones to neither (codes
    learned colours, README; clusters of colour pixels would too); a flag asks for either."""
    from tinygen.runs import gan as rg
    path = tmp_path / "colour.npy"
    np.save(path, np.random.default_rng(0).integers(0, 256, (60, 3, 28, 28), dtype=np.uint8))
    data = rg.load_data({"dataset": str(path)})
    assert [rg.make_config({"dataset": str(path)}, data)[k] for k in ("codes", "clusters")] \
        == [0, 0]
    assert rg.make_config({"dataset": str(path), "codes": 10}, data)["codes"] == 10
    assert rg.make_config({"dataset": str(path), "clusters": 2}, data)["clusters"] == 2
    grey = rg.load_data({"dataset": "mnist-5k", "limit": 120})
    assert [rg.make_config({"dataset": "mnist-5k"}, grey)[k] for k in ("codes", "clusters")] \
        == [rg.DEFAULTS["images"]["codes"], 3] == [0, 3]
