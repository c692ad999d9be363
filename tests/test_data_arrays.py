"""tinygen.data on a user's .npy / .npz: layouts (channels-last too), uint8 storage, the held-out
split, image_size and channels, and the faults each named in one line."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from tinygen.data import DataError, load_dataset
from tinygen.data.pixels import composite_on_black, rgb_to_grey
from tinygen.data.split import held_out

# ---------------------------------------------------------------- user arrays

def _both_splits(path, **kw):
    return [load_dataset(path, split, **kw) for split in ("train", "test")]


def test_user_npy_images_stay_uint8_nchw_and_a_tenth_is_held_out(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (20, 8, 9), dtype=np.uint8)
    np.save(tmp_path / "faces.npy", images)
    train, test = _both_splits(tmp_path / "faces.npy")
    assert (train.kind, train.name, train.y, train.classes) == ("images", "faces", None, None)
    assert train.x.dtype == np.uint8 and train.x.shape == (18, 1, 8, 9) and len(test) == 2
    train_idx, test_idx = held_out(20, 0.1, 0, "")
    np.testing.assert_array_equal(train.x[:, 0], images[train_idx])
    np.testing.assert_array_equal(test.x[:, 0], images[test_idx])
    assert "0.1 of the 20 examples held out" in test.split_rule


def test_user_npz_float_images_with_labels_become_uint8(tmp_path):
    x = np.random.default_rng(1).random((10, 3, 8, 8))
    labels = np.array([0, 1, 2, 1, 0, 2, 2, 1, 0, 1], np.uint8)
    np.savez(tmp_path / "rgb.npz", images=x, labels=labels)
    train, test = _both_splits(str(tmp_path / "rgb.npz"), test_fraction=0.3, split_seed=4)
    train_idx, test_idx = held_out(10, 0.3, 4, "")
    assert test.x.shape == (3, 3, 8, 8) and test.x.dtype == np.uint8
    assert test.y.dtype == np.int64 and test.y.tolist() == labels[test_idx].tolist()
    assert train.classes == test.classes == ["0", "1", "2"]
    np.testing.assert_array_equal(train.x, np.rint(x[train_idx] * 255).astype(np.uint8))


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_channels_last_arrays_are_transposed_with_a_note(tmp_path, channels):
    x = np.random.default_rng(2).integers(0, 256, (10, 9, 8, channels), dtype=np.uint8)
    np.save(tmp_path / "last.npy", x)
    train, test = _both_splits(tmp_path / "last.npy", test_fraction=0.5)
    expected = x.transpose(0, 3, 1, 2)
    if channels == 4:  # RGBA: composited onto black, c * a / 255 rounded
        alpha = expected[:, 3:].astype(int)
        expected = ((expected[:, :3].astype(int) * alpha + 127) // 255).astype(np.uint8)
    np.testing.assert_array_equal(np.concatenate([train.x, test.x]),
                                  expected[np.concatenate(held_out(10, 0.5, 0, ""))])
    assert train.notes == [f"{tmp_path / 'last.npy'}: images (10, 9, 8, {channels}) read as "
                           f"channels-last (N, H, W, C) and transposed to (N, C, H, W) = "
                           f"(10, {channels}, 9, 8)"]
    assert load_dataset(tmp_path / "last.npy", channels=1).shape == (1, 9, 8)


def test_array_images_take_image_size_and_channels(tmp_path):
    x = np.random.default_rng(3).integers(0, 256, (4, 3, 16, 24), dtype=np.uint8)
    np.save(tmp_path / "a.npy", x)
    ds = load_dataset(tmp_path / "a.npy", image_size=8, channels=1, test_fraction=0.25)
    assert ds.x.shape == (3, 1, 8, 8) and ds.x.dtype == np.uint8
    first = Image.fromarray(x[held_out(4, 0.25, 0, "")[0][0]].transpose(1, 2, 0)).convert("L")
    reference = np.asarray(first.resize((12, 8), Image.Resampling.LANCZOS).crop((2, 0, 10, 8)))
    assert np.abs(ds.x[0, 0].astype(int) - reference).max() <= 1  # luma, then resize


@pytest.mark.parametrize("save", [
    lambda p, x: np.save(p.with_suffix(".npy"), x),
    lambda p, x: np.savez(p.with_suffix(".npz"), anything=x),
    lambda p, x: np.savez(p.with_suffix(".npz"), points=x, y=np.arange(len(x))),
])
def test_user_points(tmp_path, save):
    x = np.random.default_rng(2).normal(size=(9, 2))
    save(tmp_path / "pts", x)
    path = next(tmp_path.iterdir())
    train, test = _both_splits(path)
    assert train.kind == "points" and train.x.dtype == np.float32 and train.x.shape == (8, 2)
    together = np.concatenate([train.x, test.x])
    np.testing.assert_allclose(together, x[np.concatenate(held_out(9, 0.1, 0, ""))], rtol=1e-6)


BAD_ARRAYS = {
    "1d": ({"x": np.zeros(5)}, r"shape \(5,\).*neither"),
    "three columns": ({"x": np.zeros((5, 3))}, r"shape \(5, 3\)"),
    "layout": ({"x": np.zeros((5, 8, 8, 2))}, r"neither \(N, C, H, W\).*nor channels-last"),
    "tiny images": ({"x": np.zeros((3, 4, 4), np.uint8)}, r"4x4 px \(HxW\), smaller.*8..128"),
    "huge images": ({"x": np.zeros((3, 1, 8, 200), np.uint8)}, r"8x200 px.*larger"),
    "one image": ({"x": np.zeros((1, 8, 8), np.uint8)}, "cannot be split"),
    "negative labels": ({"x": np.zeros((3, 2)), "y": np.array([0, -1, 1])}, ">= 0"),
    "out of range": ({"x": np.full((2, 4, 4), 1.5)}, r"\[0, 1\].*1.5"),
    "nan image": ({"x": np.full((2, 4, 4), np.nan)}, "images contain NaN"),
    "int32 images": ({"x": np.zeros((2, 4, 4), np.int32)}, "uint8 or float.*int32"),
    "bool points": ({"x": np.zeros((3, 2), bool)}, "real numbers.*bool"),
    "inf points": ({"x": np.full((3, 2), np.inf)}, "NaN or inf"),
    "empty": ({"x": np.zeros((0, 2))}, "no data"),
    "label length": ({"x": np.zeros((3, 2)), "y": np.zeros(4, int)}, r"\(3,\).*\(4,\)"),
    "float labels": ({"x": np.zeros((3, 2)), "labels": np.zeros(3)}, "integers.*float64"),
    "unknown key": ({"X": np.zeros((3, 2)), "y": np.zeros(3, int)}, r"\['X', 'y'\]"),
    "two data keys": ({"x": np.zeros((3, 2)), "points": np.zeros((3, 2))}, "several data"),
    "no data key": ({"y": np.zeros(3, int), "labels": np.zeros(3, int)}, "no data array"),
    "object": ({"x": np.array([None, 1], dtype=object), "y": np.zeros(2)}, "pickled"),
}


@pytest.mark.parametrize("fault", BAD_ARRAYS)
def test_bad_user_arrays_name_file_and_fault(tmp_path, fault):
    arrays, message = BAD_ARRAYS[fault]
    np.savez(tmp_path / "mine.npz", **arrays)
    with pytest.raises(DataError, match=f"mine.npz.*{message}"):
        load_dataset(tmp_path / "mine.npz")


@pytest.mark.parametrize("content, suffix, message", [
    (b"just text", ".npy", "not a .npy file"),
    (b"just text", ".npz", "not an .npz"),
    (b"a,b\n1,2\n", ".csv", "expected a .npy or .npz"),
])
def test_non_array_files_are_refused(tmp_path, content, suffix, message):
    path = (tmp_path / "mine").with_suffix(suffix)
    path.write_bytes(content)
    with pytest.raises(DataError, match=f"mine{suffix}.*{message}"):
        load_dataset(path)


def test_pickled_npy_is_refused(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="obj.npy.*pickled"):
        load_dataset(tmp_path / "obj.npy")


def test_load_dataset_mnist5k_resized_to_rgb():
    ds = load_dataset("mnist-5k", "test", image_size=32, channels=3)
    assert ds.x.shape == (1000, 3, 32, 32) and ds.x.dtype == np.uint8
    np.testing.assert_array_equal(ds.x[:, 0], ds.x[:, 2])
    with pytest.raises(DataError, match="ring8: holds 2D points; image_size"):
        load_dataset("ring8", image_size=32)


@given(n=st.integers(2, 400), fraction=st.floats(0.01, 0.99), seed=st.integers(0, 2**32 - 1))
def test_held_out_is_a_seeded_partition_of_the_stated_size(n, fraction, seed):
    train, test = held_out(n, fraction, seed, "")
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(n))
    assert len(test) == min(max(1, round(fraction * n)), n - 1)
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    np.testing.assert_array_equal(held_out(n, fraction, seed, "")[1], test)


@given(hnp.arrays(np.uint8, (3, 3, 4, 5)))
def test_rgb_to_grey_is_pillows_luma(x):
    grey = rgb_to_grey(x)
    assert grey.shape == (3, 1, 4, 5) and grey.dtype == np.uint8
    for image, got in zip(x, grey):
        reference = Image.fromarray(np.ascontiguousarray(image.transpose(1, 2, 0))).convert("L")
        np.testing.assert_array_equal(got[0], np.asarray(reference))


@given(hnp.arrays(np.uint8, (2, 4, 3, 3)))
def test_composite_on_black_rounds_colour_times_alpha(x):
    expected = np.rint(x[:, :3].astype(np.float64) * x[:, 3:] / 255)  # never a tie: 255 is odd
    np.testing.assert_array_equal(composite_on_black(x), expected)
    np.testing.assert_array_equal(composite_on_black(x[:, [0, 3]]), expected[:, :1])
