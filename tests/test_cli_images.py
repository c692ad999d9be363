"""Your own images from the command line: folders of PNG/JPEG, any size and colour, arrays
channels-last; bad input refused in one line before anything is written."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinygen.cli import main


@pytest.fixture(autouse=True)
def _quiet(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGEN_PROGRESS", "0")
    monkeypatch.setenv("TINYGEN_CACHE", str(tmp_path / "cache"))


def _one_error_line(capsys):
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line]
    assert len(err) == 1, err
    return err[0]


def _colour_folder(root: Path, size=(20, 24), n=12, classes=("cat", "dog")) -> Path:
    """RGB images of two classes (red-ish and blue-ish), JPEG and PNG mixed."""
    rng = np.random.default_rng(0)
    for k, name in enumerate(classes):
        for i in range(n):
            img = rng.integers(0, 60, (*size, 3), dtype=np.uint8)
            img[..., 2 * k] += 180                      # class 0 red, class 1 blue
            path = root / name / f"{i}.{'jpg' if i % 2 else 'png'}"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(path)
    return root


def test_a_folder_of_colour_images_trains_evaluates_and_samples(tmp_path):
    folder = _colour_folder(tmp_path / "pets")
    out = tmp_path / "run"
    assert main(["train", "vae", "--dataset", str(folder), "--image-size", "16",
                 "--model", "conv", "--epochs", "1", "--batch-size", "8", "--latent", "2",
                 "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["image_shape"] == [3, 16, 16] and config["channels"] == 3
    assert config["classes"] == ["cat", "dog"] and "held out" in config["split_rule"]
    assert {"samples.png", "reconstructions.png", "latent.png"} <= {p.name for p in out.iterdir()}
    assert main(["eval", str(out), "--iw-samples", "3", "--json"]) == 0
    assert main(["sample", str(out), "-n", "4", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (4, 3, 16, 16)


def test_grey_conversion_and_resume_checks_the_image_flags(tmp_path, capsys):
    folder = _colour_folder(tmp_path / "pets", size=(16, 16))
    out = tmp_path / "run"
    assert main(["train", "gan", "--dataset", str(folder), "--channels", "1", "--epochs", "1",
                 "--batch-size", "8", "--figures-every", "0", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["shape"] == [1, 16, 16]
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    for flag, value in (("--channels", "3"), ("--image-size", "8")):
        assert main(["train", "gan", "--resume", "--out", str(out), "--epochs", "2",
                     flag, value]) == 1
        assert f"{flag} {value} contradicts the run's" in _one_error_line(capsys)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_mixed_sizes_without_image_size_are_refused_naming_two_files(tmp_path, capsys):
    folder = _colour_folder(tmp_path / "a", size=(16, 16), n=2, classes=("x",))
    Image.fromarray(np.zeros((12, 20, 3), np.uint8)).save(folder / "x" / "odd.png")
    out = tmp_path / "never"
    assert main(["train", "vae", "--dataset", str(folder), "--out", str(out)]) == 1
    line = _one_error_line(capsys)
    assert "--image-size" in line and "odd.png" in line and not out.exists()


def test_a_corrupt_image_is_named_or_skipped_when_asked(tmp_path, capsys):
    folder = _colour_folder(tmp_path / "a", size=(16, 16), n=6, classes=("x",))
    (folder / "x" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "run"
    assert main(["train", "gan", "--dataset", str(folder), "--out", str(out)]) == 1
    assert "broken.png" in _one_error_line(capsys) and not out.exists()
    assert main(["train", "gan", "--dataset", str(folder), "--skip-bad", "--epochs", "1",
                 "--batch-size", "4", "--figures-every", "0", "--out", str(out)]) == 0
    assert "skipped 1" in capsys.readouterr().err


def test_channels_last_arrays_are_transposed_with_a_note(tmp_path, capsys):
    x = np.random.default_rng(0).integers(0, 256, (20, 16, 16, 3), dtype=np.uint8)
    np.save(tmp_path / "hwc.npy", x)
    out = tmp_path / "run"
    assert main(["train", "gan", "--dataset", str(tmp_path / "hwc.npy"), "--epochs", "1",
                 "--batch-size", "4", "--figures-every", "0", "--out", str(out)]) == 0
    assert "transposed" in capsys.readouterr().err
    assert json.loads((out / "config.json").read_text())["shape"] == [3, 16, 16]


def test_an_empty_folder_is_refused(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["train", "vae", "--dataset", str(tmp_path / "empty"),
                 "--out", str(tmp_path / "never")]) == 1
    assert "empty" in _one_error_line(capsys) and not (tmp_path / "never").exists()


def test_a_colour_gan_of_digit_size_is_judged_on_its_brightest_channel(tmp_path, capsys,
                                                                       monkeypatch):
    from tinygen.metrics import classifier   # an untrained stand-in: this checks the plumbing
    monkeypatch.setattr(classifier, "_CACHE", {"model": classifier.MNISTClassifier().eval(),
                                               "accuracy": 0.0})
    folder = _colour_folder(tmp_path / "pets", size=(32, 32), n=4)
    out = tmp_path / "run"
    assert main(["train", "gan", "--dataset", str(folder), "--epochs", "1", "--batch-size", "8",
                 "--figures-every", "0", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--n-samples", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["judged_on"] == "channel maximum, centre 28x28" and result["n"] == 20
    assert 0 <= result["clean"] <= result["one_piece"] <= 1 and result["classes"] >= 1
    assert 0 <= result["clean_crisp"] <= min(result["clean"], result["crisp"])
