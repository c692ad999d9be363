"""tinygen.data: IDX reader, MNIST loaders (no network), toy mixtures, the front door, batches.

A user's arrays: test_data_arrays.py; folders of image files: test_data_folder.py and
test_data_cache.py."""
import gzip
import hashlib
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygen.data import (DATASET_NAMES, GRID25, RING8, DataError, Dataset, as_float,
                          iterate_batches, load_dataset, load_mnist, load_mnist5k, read_idx,
                          write_idx)
from tinygen.data import mnist as mnist_module

REAL_FETCH = mnist_module.fetch_url
IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """No test reaches the network, and none depends on the machine's data directory."""
    def refuse(url, out):
        raise AssertionError(f"test tried to download {url}")
    monkeypatch.setattr(mnist_module, "fetch_url", refuse)
    monkeypatch.delenv("TINYGEN_DATA", raising=False)


# ---------------------------------------------------------------- IDX format

@pytest.mark.parametrize("split, n, per_class", [("train", 4000, 400), ("test", 1000, 100)])
def test_bundled_mnist5k_shapes_dtypes_and_class_counts(split, n, per_class):
    images, labels = load_mnist5k(split)
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [per_class] * 10)


def test_bundled_mnist5k_looks_like_mnist_digits():
    images, labels = load_mnist5k("train")
    assert images.min() == 0 and images.max() == 255
    assert 0.10 < images.mean() / 255 < 0.16  # MNIST's mean pixel intensity is about 0.13
    assert labels[:40].tolist() != sorted(labels[:40].tolist())  # shuffled, not grouped


@given(dtype=st.sampled_from(IDX_DTYPES), gz=st.booleans(), data=st.data())
def test_idx_write_read_round_trip(tmp_path_factory, dtype, gz, data):
    array = data.draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0,
                                                         max_side=5)))
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    assert path.read_bytes().startswith(b"\x1f\x8b") == gz
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_idx_header_layout_matches_the_published_format(tmp_path):
    write_idx(tmp_path / "l.idx", np.array([[1, 2, 3]], dtype=np.int16))
    raw = (tmp_path / "l.idx").read_bytes()
    assert raw == bytes([0, 0, 0x0B, 2, 0, 0, 0, 1, 0, 0, 0, 3, 0, 1, 0, 2, 0, 3])


def _labels_idx(n=5):
    return bytes([0, 0, 0x08, 1]) + n.to_bytes(4, "big") + bytes(range(n))


CORRUPTIONS = {
    "empty file": (b"", "too short"),
    "bad magic": (b"\x12\x34" + _labels_idx()[2:], "not an IDX file"),
    "wrong dtype code": (bytes([0, 0, 0x0A, 1]) + _labels_idx()[4:], "type code 0x0A"),
    "zero dims": (bytes([0, 0, 0x08, 0]), "0 dimensions"),
    "truncated header": (bytes([0, 0, 0x08, 3, 0, 0, 0, 5]), "truncated IDX header"),
    "truncated payload": (_labels_idx()[:-2], "truncated payload.*needs 5 bytes, found 3"),
    "extra bytes": (_labels_idx() + b"\x00", "extra bytes.*found 6"),
    "truncated gzip": (gzip.compress(_labels_idx() * 50)[:-12], "gzip"),
    "corrupt gzip": (gzip.compress(_labels_idx())[:-8] + b"\0" * 8, "gzip"),
}


@pytest.mark.parametrize("fault", CORRUPTIONS)
def test_corrupt_idx_raises_data_error_naming_file_and_fault(tmp_path, fault):
    content, message = CORRUPTIONS[fault]
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(DataError, match=f"broken-idx1-ubyte.*{message}"):
        read_idx(path)


def test_truncated_bundled_file_is_caught(tmp_path):
    images, _ = load_mnist5k("test")
    write_idx(tmp_path / "t.gz", images)
    raw = (tmp_path / "t.gz").read_bytes()
    (tmp_path / "cut.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="cut.gz.*gzip"):
        read_idx(tmp_path / "cut.gz")


def test_write_idx_refuses_types_idx_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "a", np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="shape"):
        write_idx(tmp_path / "a", np.float32(1.0))


# ---------------------------------------------------------------- full MNIST (no network)

def _fake_mnist(directory, split, n, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    for name, array in zip(mnist_module.FILES[split], (images, labels)):
        write_idx(directory / (name if gz else name.removesuffix(".gz")), array, compress=gz)
    return images, labels


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_reads_files_from_data_dir(tmp_path, gz):
    images, labels = _fake_mnist(tmp_path, "test", 7, gz=gz)
    got_images, got_labels = load_mnist("test", data_dir=tmp_path, download=False)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_load_mnist_data_dir_from_env_then_xdg_cache(tmp_path, monkeypatch):
    env_dir, cache = tmp_path / "env", tmp_path / "cache"
    env_dir.mkdir()
    (cache / "tinygen" / "mnist").mkdir(parents=True)
    env_images, _ = _fake_mnist(env_dir, "train", 3, seed=1)
    cache_images, _ = _fake_mnist(cache / "tinygen" / "mnist", "train", 4, seed=2)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("TINYGEN_DATA", str(env_dir))
    np.testing.assert_array_equal(load_mnist("train", download=False)[0], env_images)
    monkeypatch.delenv("TINYGEN_DATA")
    np.testing.assert_array_equal(load_mnist("train", download=False)[0], cache_images)


def test_missing_mnist_offline_says_which_files_go_where(tmp_path):
    with pytest.raises(DataError) as err:
        load_mnist("train", data_dir=tmp_path / "empty", download=False)
    message = str(err.value)
    for expected in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                     str(tmp_path / "empty"), "TINYGEN_DATA", "mnist-5k"):
        assert expected in message
    assert "t10k" not in message


def test_mnist_images_and_labels_must_agree(tmp_path):
    _fake_mnist(tmp_path, "test", 6)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(DataError, match="t10k-labels.*6 uint8 labels"):
        load_mnist("test", data_dir=tmp_path, download=False)


def _served_files(tmp_path, split, n=5):
    """-> {file name: bytes} of small valid MNIST-like files, and patch SHA256 to match."""
    source = tmp_path / "server"
    source.mkdir()
    images, labels = _fake_mnist(source, split, n)
    return {name: (source / name).read_bytes() for name in mnist_module.FILES[split]}, images


def _patch_sha(monkeypatch, files):
    for name, data in files.items():
        monkeypatch.setitem(mnist_module.SHA256, name, hashlib.sha256(data).hexdigest())


def test_download_tries_mirrors_in_order_and_verifies(tmp_path, monkeypatch):
    files, images = _served_files(tmp_path, "test")
    _patch_sha(monkeypatch, files)
    calls = []

    def fetch(url, out):
        calls.append(url)
        if url.startswith(mnist_module.MIRRORS[0]):
            raise OSError("mirror down")
        out.write(files[url.rsplit("/", 1)[-1]])

    target = tmp_path / "data"
    got, _ = load_mnist("test", data_dir=target, fetch=fetch)
    np.testing.assert_array_equal(got, images)
    assert calls == [m + n for n in mnist_module.FILES["test"] for m in mnist_module.MIRRORS[:2]]
    assert sorted(p.name for p in target.iterdir()) == sorted(files)


def test_download_with_wrong_sha_leaves_no_file_and_explains(tmp_path, monkeypatch):
    files, _ = _served_files(tmp_path, "train")  # real SHA256 kept: these bytes do not match

    def fetch(url, out):
        out.write(files[url.rsplit("/", 1)[-1]])

    target = tmp_path / "data"
    with pytest.raises(DataError) as err:
        load_mnist("train", data_dir=target, fetch=fetch)
    assert str(err.value).count("SHA-256 mismatch") == len(mnist_module.MIRRORS)
    assert "train-images-idx3-ubyte.gz" in str(err.value) and str(target) in str(err.value)
    assert list(target.iterdir()) == []


def test_download_interrupted_midway_leaves_no_partial_file(tmp_path, monkeypatch):
    files, _ = _served_files(tmp_path, "test")
    _patch_sha(monkeypatch, files)
    calls = []

    def fetch(url, out):
        calls.append(url)
        out.write(files[url.rsplit("/", 1)[-1]][:100])
        raise ConnectionResetError("connection lost")

    with pytest.raises(DataError, match="connection lost"):
        load_mnist("test", data_dir=tmp_path / "d", fetch=fetch)
    assert list((tmp_path / "d").iterdir()) == []
    assert len(calls) == len(mnist_module.MIRRORS)  # gave up after the first file's mirrors


def test_download_only_fetches_missing_files(tmp_path, monkeypatch):
    files, images = _served_files(tmp_path, "test")
    _patch_sha(monkeypatch, files)
    target = tmp_path / "d"
    target.mkdir()
    labels_name = mnist_module.FILES["test"][1]
    (target / labels_name).write_bytes(files[labels_name])
    calls = []

    def fetch(url, out):
        calls.append(url.rsplit("/", 1)[-1])
        out.write(files[calls[-1]])

    np.testing.assert_array_equal(load_mnist("test", data_dir=target, fetch=fetch)[0], images)
    assert calls == [mnist_module.FILES["test"][0]]


def test_real_fetch_from_a_local_file_mirror(tmp_path, monkeypatch):
    """The default urllib fetch, end to end, against a file:// mirror (no network)."""
    files, images = _served_files(tmp_path, "test")
    _patch_sha(monkeypatch, files)
    monkeypatch.setattr(mnist_module, "MIRRORS", ((tmp_path / "server").as_uri() + "/",))
    got, _ = load_mnist("test", data_dir=tmp_path / "d", fetch=REAL_FETCH)
    np.testing.assert_array_equal(got, images)


# ---------------------------------------------------------------- toy mixtures

def test_ring8_centres_are_evenly_spaced_on_radius_2():
    centres = RING8.centres
    assert centres.shape == (8, 2) and RING8.std == 0.02
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 2.0)
    angles = np.sort(np.mod(np.arctan2(centres[:, 1], centres[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(np.diff(angles), np.pi / 4)
    np.testing.assert_allclose(centres[0], [2.0, 0.0])


def test_grid25_centres_are_the_product_grid():
    assert GRID25.centres.shape == (25, 2) and GRID25.std == 0.05
    expected = set(itertools.product([-4, -2, 0, 2, 4], repeat=2))
    assert {tuple(c) for c in GRID25.centres.tolist()} == expected


@pytest.mark.parametrize("mixture", [RING8, GRID25], ids=lambda m: m.name)
def test_mixture_samples_have_the_stated_std_and_equal_weights(mixture):
    n, k = 50_000, len(mixture.centres)
    x, modes = mixture.sample_with_modes(n, np.random.default_rng(0))
    assert x.dtype == np.float32 and x.shape == (n, 2) and modes.dtype == np.int64
    residual = x - mixture.centres[modes]
    np.testing.assert_allclose(residual.std(axis=0), mixture.std, rtol=0.03)
    np.testing.assert_allclose(residual.mean(axis=0), 0, atol=3 * mixture.std / np.sqrt(n) * 3)
    counts = np.bincount(modes, minlength=k)
    assert np.all(np.abs(counts - n / k) < 5 * np.sqrt(n / k))
    nearest, distance = mixture.nearest(x)
    np.testing.assert_array_equal(nearest, modes)  # modes are far apart relative to std
    assert np.mean(distance < 3 * mixture.std) > 0.98  # 2D: P(|eps| < 3) = 1 - e^-4.5 = 0.989


def test_mixture_sampling_is_driven_by_the_seed_only():
    a, b = RING8.sample(100, 7), RING8.sample(100, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, RING8.sample(100, 8))
    with pytest.raises(TypeError, match="seed or a np.random.Generator"):
        RING8.sample(10, None)
    with pytest.raises(ValueError):
        RING8.centres[0, 0] = 5.0


# ---------------------------------------------------------------- the front door

def test_load_dataset_mnist5k_is_uint8_nchw_and_scales_per_batch():
    ds = load_dataset("mnist-5k", split="test")
    images, labels = load_mnist5k("test")
    assert (ds.kind, ds.name, len(ds)) == ("images", "mnist-5k", 1000)
    assert ds.x.shape == (1000, 1, 28, 28) and ds.x.dtype == np.uint8
    assert ds.y.dtype == np.int64 and ds.classes == [str(d) for d in range(10)]
    np.testing.assert_array_equal(ds.y, labels)
    np.testing.assert_array_equal(ds.x[:, 0], images)
    old = images[:, None].astype(np.float32)
    old /= np.float32(255)       # what load_dataset returned before: the same bits, per batch
    np.testing.assert_array_equal(as_float(ds.x), old)
    order = np.concatenate(list(iterate_batches(1000, 64, 7)))
    got = list(ds.batches(64, 7))
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in got]), old[order])
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in got]), labels[order])


def test_load_dataset_mnist_from_data_dir(tmp_path):
    images, labels = _fake_mnist(tmp_path, "train", 3)
    ds = load_dataset("mnist", data_dir=tmp_path, download=False)
    assert ds.x.shape == (3, 1, 28, 28)
    np.testing.assert_array_equal(ds.y, labels)


@pytest.mark.parametrize("name, mixture", [("ring8", RING8), ("grid25", GRID25)])
def test_load_dataset_toy_sets_are_fixed_draws(name, mixture):
    train, again, test = (load_dataset(name), load_dataset(name), load_dataset(name, "test"))
    assert train.kind == "points" and train.mixture is mixture
    assert train.x.shape == (10_000, 2) and train.x.dtype == np.float32
    np.testing.assert_array_equal(train.x, again.x)
    assert not np.array_equal(train.x, test.x)
    np.testing.assert_array_equal(mixture.nearest(train.x)[0], train.y)


@pytest.mark.parametrize("name", ["mnist5k", "cifar10", "no/such/file.npy"])
def test_unknown_dataset_lists_valid_names(name):
    with pytest.raises(DataError) as err:
        load_dataset(name)
    assert name in str(err.value)
    assert all(valid in str(err.value) for valid in DATASET_NAMES)


def test_bad_split_and_inconsistent_dataset_are_refused():
    with pytest.raises(DataError, match="'valid'"):
        load_dataset("ring8", split="valid")
    with pytest.raises(DataError, match="float64"):
        Dataset(np.zeros((3, 2)), None, "points", "p")
    with pytest.raises(DataError, match="float32.*images: uint8"):
        Dataset(np.zeros((3, 1, 8, 8), np.float32), None, "images", "i")
    with pytest.raises(DataError, match=r"labels must lie in 0..1"):
        Dataset(np.zeros((3, 2), np.float32), np.array([0, 1, 2]), "points", "p", ["a", "b"])
    with pytest.raises(DataError, match="int64"):
        Dataset(np.zeros((3, 2), np.float32), np.zeros(3, np.int32), "points", "p")


# ---------------------------------------------------------------- batches

@given(n=st.integers(0, 60), batch_size=st.integers(1, 17), drop_last=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_batches_cover_every_index_once(n, batch_size, drop_last, seed):
    batches = list(iterate_batches(n, batch_size, seed, drop_last=drop_last))
    sizes = [len(b) for b in batches]
    if drop_last:
        assert sizes == [batch_size] * (n // batch_size)
    else:
        assert sizes[:-1] == [batch_size] * (len(sizes) - 1) and sum(sizes) == n
    seen = np.concatenate(batches) if batches else np.array([], np.int64)
    assert len(np.unique(seen)) == len(seen) and np.all((0 <= seen) & (seen < n))
    assert seen.dtype == np.int64


def test_batch_order_is_set_by_the_seed_alone():
    first = np.concatenate(list(iterate_batches(100, 10, 3)))
    np.testing.assert_array_equal(first, np.concatenate(list(iterate_batches(100, 10, 3))))
    assert not np.array_equal(first, np.arange(100))
    assert not np.array_equal(first, np.concatenate(list(iterate_batches(100, 10, 4))))
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    epochs_a = [np.concatenate(list(iterate_batches(50, 8, rng_a))) for _ in range(2)]
    epochs_b = [np.concatenate(list(iterate_batches(50, 8, rng_b))) for _ in range(2)]
    assert not np.array_equal(*epochs_a)  # a Generator gives a new order each epoch...
    for a, b in zip(epochs_a, epochs_b):  # ...and the same sequence from the same seed
        np.testing.assert_array_equal(a, b)


def test_batches_of_arrays_stay_aligned():
    x = np.arange(30.0).reshape(10, 3)
    y = np.arange(10)
    for xb, yb in iterate_batches((x, y), 4, 0):
        np.testing.assert_array_equal(xb, x[yb])
    singles = list(iterate_batches(x, 4, shuffle=False))
    np.testing.assert_array_equal(np.concatenate(singles), x)
    assert [len(b) for b in singles] == [4, 4, 2]


def test_batch_iterator_rejects_bad_arguments():
    with pytest.raises(TypeError, match="explicit seed"):
        iterate_batches(10, 2)
    with pytest.raises(TypeError, match="Generator"):
        iterate_batches(10, 2, rng=1.5)
    with pytest.raises(DataError, match="batch_size"):
        iterate_batches(10, 0, 0)
    with pytest.raises(DataError, match=r"\(3,\), \(4,\)"):
        iterate_batches((np.zeros(3), np.zeros(4)), 2, 0)
