"""tinygen.data's folder cache (a second load decodes nothing, never stale, never required),
uint8 storage with per-batch scaling, and the colour-digits folder of benchmarks/."""
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
from image_files import flat_folder, load, private_cache, save  # noqa: F401 (a fixture)
from PIL import Image

from tinygen.data import as_float, load_dataset, load_mnist5k
from tinygen.data import cache as cache_module


# ---------------------------------------------------------------- the cache

@pytest.fixture
def count_opens(monkeypatch):
    calls = []
    real_open = Image.open

    def counting_open(*args, **kwargs):
        calls.append(args[0])
        return real_open(*args, **kwargs)
    monkeypatch.setattr(Image, "open", counting_open)
    return calls


def test_a_second_load_of_an_unchanged_folder_decodes_nothing(tmp_path, private_cache,
                                                              count_opens):
    root = flat_folder(tmp_path / "f", 10)
    first = load(root, image_size=8, channels=3)
    assert len(count_opens) == 10 + 9   # the survey opens all, the decode the train split
    (entry,) = private_cache.glob("*.npz")
    assert first.notes == [f"{root}: 9 decoded images kept (0.0 MiB) in the cache {entry}, "
                           "for the next load"]
    count_opens.clear()
    second = load(root, image_size=8, channels=3)
    assert count_opens == []
    np.testing.assert_array_equal(second.x, first.x)
    assert second.x.dtype == np.uint8 and "read from the cache" in second.notes[-1]
    assert len(list(private_cache.glob("*.npz"))) == 1
    load(root, image_size=16, channels=3)           # other options: another entry
    assert count_opens and len(list(private_cache.glob("*.npz"))) == 2


@pytest.mark.parametrize("change", ["mtime", "content"])
def test_the_cache_is_never_stale(tmp_path, count_opens, change):
    root = flat_folder(tmp_path / "f", 4)
    before = load(root, "test", test_fraction=0.5).x
    target = root / "img03.png"
    if change == "mtime":
        stat = target.stat()
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    else:
        save(target, np.full((8, 8), 77, np.uint8))
    count_opens.clear()
    after = load(root, "test", test_fraction=0.5).x
    assert len(count_opens) > 0
    if change == "content":
        assert 77 in np.concatenate([after, load(root, test_fraction=0.5).x])
    else:
        np.testing.assert_array_equal(after, before)


def test_a_broken_or_unwritable_cache_is_never_an_error(tmp_path, monkeypatch, private_cache,
                                                        count_opens):
    root = flat_folder(tmp_path / "f", 4)
    expected = load(root).x
    (entry,) = private_cache.glob("*.npz")
    entry.write_bytes(b"PK\x03\x04 garbage")
    count_opens.clear()
    np.testing.assert_array_equal(load(root).x, expected)
    assert count_opens                                  # decoded again, and rewritten
    np.testing.assert_array_equal(cache_module.read_cache(entry.stem)["x"], expected)
    (tmp_path / "blocker").write_text("a file where the cache folder should go")
    monkeypatch.setenv("TINYGEN_CACHE", str(tmp_path / "blocker"))
    ds = load(root)
    np.testing.assert_array_equal(ds.x, expected)
    assert any("could not write the folder cache" in n for n in ds.notes)
    count_opens.clear()
    np.testing.assert_array_equal(load(root, cache=False).x, expected)
    assert count_opens


def test_progress_bars_go_to_stderr_unless_turned_off(tmp_path, monkeypatch, capsys):
    root = flat_folder(tmp_path / "f", 3)
    monkeypatch.delenv("TINYGEN_PROGRESS")
    load_dataset(root, cache=False)
    captured = capsys.readouterr()
    assert "decoding f" in captured.err and captured.out == ""
    load_dataset(root, cache=False, progress=False)
    monkeypatch.setenv("TINYGEN_PROGRESS", "0")
    load_dataset(root, cache=False)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------- uint8 in memory

def test_as_float_scales_uint8_and_passes_float32():
    x = np.array([[0, 51, 255]], np.uint8)
    np.testing.assert_array_equal(as_float(x), np.array([[0, 0.2, 1]], np.float32))
    points = np.ones((3, 2), np.float32)
    assert as_float(points) is points
    with pytest.raises(TypeError, match="float64"):
        as_float(np.ones(3))


def test_images_stay_uint8_and_scale_per_batch(tmp_path):
    root = flat_folder(tmp_path / "f", 20)
    ds = load(root, channels=3)
    assert ds.x.dtype == np.uint8 and ds.x.nbytes == len(ds) * 3 * 8 * 8
    seen = []
    for xb, yb in ds.batches(4, 0):
        assert xb.dtype == np.float32 and xb.shape[1:] == (3, 8, 8) and yb is None
        seen.append(xb)
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)[:, 0, 0, 0]),
                                  np.sort(as_float(ds.x)[:, 0, 0, 0]))
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)[:, 0, 0, 0] * 255).round(),
                                  np.sort(ds.x[:, 0, 0, 0]).astype(np.float32))


def test_subset_keeps_the_classes_and_notes(tmp_path):
    for name in ("a", "b"):
        for i in range(5):
            save(tmp_path / "f" / name / f"{i}.png", np.full((8, 8), i, np.uint8))
    ds = load(tmp_path / "f", test_fraction=0.2)
    head = ds.subset(slice(0, 3))
    assert len(head) == 3 and head.classes == ["a", "b"] and head.split_rule == ds.split_rule
    np.testing.assert_array_equal(head.x, ds.x[:3])
    np.testing.assert_array_equal(head.y, ds.y[:3])
    assert head.x.dtype == np.uint8 and head.shape == (1, 8, 8)


def test_the_color_digits_folder_loads_as_ten_rgb_classes(tmp_path):
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "make_color_digits.py"
    spec = importlib.util.spec_from_file_location("make_color_digits", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.write_color_digits(tmp_path / "digits", limit=40, seed=0) == 40
    images, labels = module.color_digits(40, 0)
    parts = [load(tmp_path / "digits", s) for s in ("train", "test")]
    assert parts[0].shape == (3, 32, 32) and sum(len(p) for p in parts) == 40
    assert parts[0].classes == [str(d) for d in sorted(set(labels.tolist()))]
    digits = np.pad(load_mnist5k("train")[0][:40], ((0, 0), (2, 2), (2, 2)))
    np.testing.assert_array_equal(images.max(axis=3), digits)   # brightest channel = digit
    for p in parts:
        x_grey = p.x.max(axis=1)
        assert all(any(np.array_equal(g, d) for d in digits) for g in x_grey)
