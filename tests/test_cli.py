"""The `tinygen` command line with a tiny budget: train, eval, sample, resume, refusals, errors,
and the hand-written example, so that none of them can rot."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygen import vae
from tinygen.cli import main
from tinygen.runs import read_metrics

TINY = ["--limit", "64", "--batch-size", "32", "--hidden", "16", "--latent", "2",
        "--figures-every", "0"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("TINYGEN_PROGRESS", "0")
    # eval scores MNIST samples with the project's classifier, trained on first use (about a
    # CPU-minute): an untrained stand-in keeps these plumbing tests fast
    from tinygen.metrics import classifier
    monkeypatch.setattr(classifier, "_CACHE", {"model": classifier.MNISTClassifier().eval(),
                                               "accuracy": 0.0})


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One tiny 1-epoch run shared by the read-only tests."""
    out = tmp_path_factory.mktemp("runs") / "vae"
    assert main(["train", "vae", "--epochs", "1", "--out", str(out), *TINY,
                 "--figures-every", "1"]) == 0
    return out


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_train_writes_config_metrics_checkpoint_and_figures(run):
    names = {p.name for p in run.iterdir()}
    assert {"config.json", "metrics.jsonl", "last.npz", "samples.png", "reconstructions.png",
            "latent.png", "manifold.png", "loss.png"} <= names
    assert json.loads((run / "config.json").read_text())["kind"] == "vae"
    [record] = read_metrics(run)
    for key in ("train_loss", "train_recon", "train_kl", "test_loss", "test_recon", "test_kl"):
        assert np.isfinite(record[key])
    assert record["test_loss"] == pytest.approx(record["test_recon"] + record["test_kl"])


def test_eval_json_last_line_has_the_vae_metrics(run, capsys):
    assert main(["eval", str(run), "--iw-samples", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"test_neg_elbo", "test_nll_iw", "active_units"} <= result.keys()
    assert 0 <= result["active_units"] <= 2 and np.isfinite(result["test_nll_iw"])


def test_sample_writes_float32_images_in_unit_interval(run, tmp_path):
    out = tmp_path / "s.npy"
    assert main(["sample", str(run), "-n", "7", "--out", str(out), "--seed", "3"]) == 0
    x = np.load(out)
    assert x.shape == (7, 1, 28, 28) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1
    assert main(["sample", str(run), "-n", "7", "--out", str(tmp_path / "t.npy"),
                 "--seed", "3"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "t.npy"), x)   # the seed decides


def test_truncation_is_refused_on_a_vae_run_before_writing(run, tmp_path, capsys):
    out = tmp_path / "s.npy"
    assert main(["sample", str(run), "-n", "2", "--truncation", "1", "--out", str(out)]) == 1
    assert "--truncation is for a GAN run" in _one_error_line(capsys) and not out.exists()
    assert main(["eval", str(run), "--truncation", "1"]) == 1
    assert "--truncation is for a GAN run" in _one_error_line(capsys)


def test_resume_continues_from_the_last_epoch(tmp_path):
    out = str(tmp_path / "r")
    assert main(["train", "vae", "--epochs", "1", "--out", out, *TINY]) == 0
    assert main(["train", "vae", "--epochs", "2", "--out", out, "--resume"]) == 0
    assert [r["epoch"] for r in read_metrics(out)] == [0, 1]
    straight = str(tmp_path / "s")
    assert main(["train", "vae", "--epochs", "2", "--out", straight, *TINY]) == 0
    # the resumed run is the run that never stopped (same batches, same noise)
    assert read_metrics(out)[1]["test_loss"] == pytest.approx(
        read_metrics(straight)[1]["test_loss"], rel=1e-5)


def test_existing_run_directory_is_refused_unless_forced(run, capsys):
    before = (run / "metrics.jsonl").read_bytes()
    assert main(["train", "vae", "--epochs", "1", "--out", str(run), *TINY]) == 1
    assert "already exists" in _one_error_line(capsys)
    assert (run / "metrics.jsonl").read_bytes() == before


@pytest.mark.parametrize("argv, needle", [
    (["train", "vae", "--lr", "-1"], "--lr"),
    (["train", "vae", "--epochs", "0"], "--epochs"),
    (["train", "vae", "--model", "rnn"], "--model"),
    (["train", "vae", "--nope"], "--nope"),
    (["sample", "x", "--out", "y.npy"], "-n"),
    (["sample", "x", "-n", "2", "--out", "y.npy", "--truncation", "0"], "--truncation"),
    (["eval", "x", "--truncation", "-1"], "--truncation"),
])
def test_bad_flags_give_one_line_and_exit_2(argv, needle, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert needle in _one_error_line(capsys)


def test_bad_paths_and_datasets_give_one_line_and_exit_1(tmp_path, run, capsys):
    out = tmp_path / "never"
    assert main(["train", "vae", "--dataset", "no-such-set", "--out", str(out)]) == 1
    assert "no-such-set" in _one_error_line(capsys) and not out.exists()
    assert main(["eval", str(tmp_path / "missing")]) == 1
    assert "does not exist" in _one_error_line(capsys)
    assert main(["sample", str(run), "-n", "2", "--out", str(tmp_path / "no" / "x.npy")]) == 1
    assert "does not exist" in _one_error_line(capsys)
    assert main(["train", "vae", "--resume", "--out", str(tmp_path / "missing")]) == 1
    _one_error_line(capsys)


def test_non_finite_loss_stops_and_keeps_the_last_checkpoint(tmp_path, monkeypatch, capsys):
    out = tmp_path / "nan"
    assert main(["train", "vae", "--epochs", "1", "--out", str(out), *TINY]) == 0
    checkpoint = (out / "last.npz").read_bytes()
    good_step = vae.train_step

    def nan_step(*args, **kwargs):
        terms = good_step(*args, **kwargs)
        terms.loss = terms.loss * float("nan")
        return terms
    monkeypatch.setattr(vae, "train_step", nan_step)
    assert main(["train", "vae", "--epochs", "3", "--out", str(out), "--resume"]) == 3
    assert "non-finite loss" in _one_error_line(capsys)
    assert (out / "last.npz").read_bytes() == checkpoint
    assert len(read_metrics(out)) == 1


def test_example_runs_with_a_tiny_budget(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "vae_mnist.py"), "--epochs", "1",
         "--limit", "64", "--iw-samples", "5", "--latent", "2", "--out", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 0, result.stderr
    assert "test -ELBO" in result.stdout and "active units" in result.stdout
    assert (tmp_path / "samples.png").exists() and (tmp_path / "latent.png").exists()


def test_force_replaces_an_old_run(tmp_path):
    out = str(tmp_path / "f")
    assert main(["train", "vae", "--epochs", "2", "--out", out, *TINY]) == 0
    assert main(["train", "vae", "--epochs", "1", "--out", out, "--force", *TINY]) == 0
    assert [r["epoch"] for r in read_metrics(out)] == [0]


@pytest.mark.parametrize("argv, message", [
    (["--latent", "5"], "--latent 5 contradicts the run's latent = 2"),
    (["--model", "conv"], "--model conv contradicts the run's model = mlp"),
    (["--lr", "0.5"], "--lr 0.5 contradicts the run's lr = 0.001"),
    (["--dataset", "ring8"], "--dataset ring8 contradicts the run's dataset = mnist-5k"),
])
def test_resume_refuses_a_flag_that_contradicts_the_run(tmp_path, capsys, argv, message):
    out = tmp_path / "r"
    assert main(["train", "vae", "--epochs", "1", "--out", str(out), *TINY]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["train", "vae", "--epochs", "2", "--out", str(out), "--resume", *argv]) == 1
    line = _one_error_line(capsys)
    assert message in line and "--resume may change only --epochs" in line
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before   # nothing written


def test_resume_takes_repeated_flags_and_a_new_budget(tmp_path):
    out = str(tmp_path / "r")
    assert main(["train", "vae", "--epochs", "1", "--out", out, *TINY]) == 0
    assert main(["train", "vae", "--epochs", "2", "--out", out, "--resume", *TINY]) == 0
    assert [r["epoch"] for r in read_metrics(out)] == [0, 1]
    assert json.loads((Path(out) / "config.json").read_text())["epochs"] == 2


def test_gan_resume_refuses_a_contradicting_flag_and_counts_steps(tmp_path, capsys):
    out = str(tmp_path / "g")
    base = ["train", "gan", "--steps", "4", "--steps-per-epoch", "2", "--figures-every", "0",
            "--batch-size", "16", "--out", out]
    assert main(base) == 0
    assert main(["train", "gan", "--resume", "--out", out, "--r1", "0.5"]) == 1
    assert "--r1 0.5 contradicts the run's r1 = 1.0" in _one_error_line(capsys)
    assert main(["train", "gan", "--resume", "--out", out, "--epochs", "3"]) == 0
    config = json.loads((Path(out) / "config.json").read_text())
    assert (config["steps"], config["epochs"]) == (6, 3)   # 2-D runs count steps


def test_import_tinygen_is_light_and_loads_floors_as_attributes():
    code = ("import sys, tinygen as tg\n"
            "heavy = [m for m in ('matplotlib', 'tinygen.nn', 'tinygen.runs', 'tqdm') "
            "if m in sys.modules]\n"
            "assert heavy == [], heavy\n"
            "layer = tg.nn.Linear(3, 2)\n"
            "assert type(tg.optim.Adam(layer.parameters())).__name__ == 'Adam'\n"
            "assert tg.functional.relu is not None and tg.vae.MLPVAE and tg.gan.GANLoss\n"
            "assert {'nn', 'optim', 'data', 'vae', 'gan'} <= set(dir(tg))\n"
            "try:\n    tg.no_such_floor\nexcept AttributeError as e:\n    print(e)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert "no attribute 'no_such_floor'" in result.stdout


def test_the_dcgan_example_trains_the_cli_default_recipe():
    import importlib.util
    from tinygen.runs.gan import DEFAULTS
    spec = importlib.util.spec_from_file_location("dcgan_example",
                                                  ROOT / "examples" / "dcgan_mnist.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.RECIPE == {k: DEFAULTS["images"][k] for k in example.RECIPE}
    assert DEFAULTS["images"]["lr_d_ratio"] == 1.0   # what the example does not write out
    images = DEFAULTS["images"]
    assert images["augment"] == "translation" and images["real_label"] == 1.0


@pytest.mark.parametrize("kind, extra", [("gan", []), ("vae", ["--model", "conv"])])
def test_rgb_images_of_another_size_train_and_sample_in_colour(tmp_path, kind, extra):
    x = np.random.default_rng(0).random((48, 3, 32, 32), dtype=np.float32)
    np.save(tmp_path / "rgb.npy", x)
    out = tmp_path / kind
    assert main(["train", kind, "--dataset", str(tmp_path / "rgb.npy"), "--epochs", "1",
                 "--batch-size", "16", "--out", str(out), *extra]) == 0
    assert (out / "samples.png").is_file()
    assert main(["sample", str(out), "-n", "5", "--out", str(tmp_path / "s.npy")]) == 0
    s = np.load(tmp_path / "s.npy")
    assert s.shape == (5, 3, 32, 32) and s.dtype == np.float32 and 0 <= s.min() <= s.max() <= 1
    assert main(["sample", str(out), "-n", "12", "--out", str(tmp_path / "g.png")]) == 0
    from PIL import Image
    with Image.open(tmp_path / "g.png") as grid:
        pixels = np.asarray(grid.convert("RGB"), dtype=np.int16)
    assert (np.abs(pixels[..., 0] - pixels[..., 1]) > 10).any()   # colour, not grey


def test_a_size_the_models_cannot_build_fails_before_writing(tmp_path, capsys):
    np.save(tmp_path / "odd.npy", np.random.default_rng(0).random((8, 1, 9, 9), np.float32))
    out = tmp_path / "never"
    assert main(["train", "gan", "--dataset", str(tmp_path / "odd.npy"), "--out", str(out)]) == 1
    assert "got 9x9; resize the images" in _one_error_line(capsys) and not out.exists()
