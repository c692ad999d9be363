"""tinygen.io: atomic .npz writing and pickle-free, checked .npz reading."""
import os
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygen.io import NpzError, atomic_write, load_npz, save_npz_atomic

DTYPES = st.sampled_from([np.float32, np.float64, np.int64, np.int8, np.uint8, np.bool_])
ARRAYS = DTYPES.flatmap(lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=3,
                                                                    min_side=0, max_side=4)))
NAMES = st.text(st.characters(whitelist_categories=("L", "N"), whitelist_characters="._"),
                min_size=1, max_size=12)


def _leftovers(directory, keep):
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


@given(arrays=st.dictionaries(NAMES, ARRAYS, max_size=4), compressed=st.booleans())
def test_save_load_round_trip_keeps_names_dtypes_values(tmp_path_factory, arrays, compressed):
    path = tmp_path_factory.mktemp("rt") / "state.npz"
    save_npz_atomic(path, arrays, compressed=compressed)
    loaded = load_npz(path)
    assert sorted(loaded) == sorted(arrays)
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape
        np.testing.assert_array_equal(loaded[name], array)
    assert _leftovers(path.parent, {"state.npz"}) == []


def test_save_writes_exactly_the_given_path_without_adding_suffix(tmp_path):
    path = tmp_path / "checkpoint.ckpt"
    assert save_npz_atomic(path, {"w": np.ones(3)}) == path
    assert os.listdir(tmp_path) == ["checkpoint.ckpt"]
    np.testing.assert_array_equal(load_npz(path)["w"], np.ones(3))


def test_names_that_are_savez_arguments_are_kept(tmp_path):
    arrays = {"file": np.ones(2), "allow_pickle": np.zeros(1), "a/b": np.arange(3)}
    save_npz_atomic(tmp_path / "k.npz", arrays)
    loaded = load_npz(tmp_path / "k.npz")
    assert sorted(loaded) == sorted(arrays)
    np.testing.assert_array_equal(loaded["a/b"], np.arange(3))


def test_file_is_readable_by_plain_numpy(tmp_path):
    save_npz_atomic(tmp_path / "p.npz", {"w": np.eye(2, dtype=np.float32)}, compressed=True)
    with np.load(tmp_path / "p.npz", allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["w"], np.eye(2, dtype=np.float32))


def test_overwrite_replaces_old_content(tmp_path):
    path = tmp_path / "a.npz"
    save_npz_atomic(path, {"w": np.zeros(2)})
    save_npz_atomic(path, {"v": np.arange(5)})
    assert list(load_npz(path)) == ["v"]


def _fail_mid_write(f, array, **kwargs):
    f.write(b"\x93NUMPY half of an array")
    raise OSError("disk full")


@pytest.mark.parametrize("failure", ["savez", "fsync", "interrupt"])
def test_failed_save_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch, failure):
    path = tmp_path / "model.npz"
    save_npz_atomic(path, {"w": np.arange(4.0)})
    before = path.read_bytes()
    if failure == "savez":
        monkeypatch.setattr(np.lib.format, "write_array", _fail_mid_write)
        error = OSError
    elif failure == "fsync":
        monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("io error")))
        error = OSError
    else:
        def interrupted(f, array, **kwargs):
            f.write(b"partial")
            raise KeyboardInterrupt
        monkeypatch.setattr(np.lib.format, "write_array", interrupted)
        error = KeyboardInterrupt
    with pytest.raises(error):
        save_npz_atomic(path, {"w": np.zeros(1000)})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert _leftovers(tmp_path, {"model.npz"}) == []
    np.testing.assert_array_equal(load_npz(path)["w"], np.arange(4.0))


def test_failed_first_save_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_write(tmp_path / "new.bin") as f:
            f.write(b"abc")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_object_arrays_and_bad_names(tmp_path):
    with pytest.raises(TypeError, match="'meta'.*object"):
        save_npz_atomic(tmp_path / "x.npz", {"meta": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(TypeError, match="names"):
        save_npz_atomic(tmp_path / "x.npz", {3: np.zeros(1)})
    assert list(tmp_path.iterdir()) == []


def _good_npz(tmp_path):
    path = tmp_path / "good.npz"
    save_npz_atomic(path, {"a": np.arange(1000, dtype=np.float32), "b": np.eye(3)})
    return path


def test_load_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.npz"):
        load_npz(tmp_path / "nothere.npz")


@pytest.mark.parametrize("cut", [0.5, 0.9, 0.999])
def test_load_truncated_file_is_a_clear_error(tmp_path, cut):
    data = _good_npz(tmp_path).read_bytes()
    bad = tmp_path / "cut.npz"
    bad.write_bytes(data[:int(len(data) * cut)])
    with pytest.raises(NpzError, match="cut.npz.*(truncated|corrupt)"):
        load_npz(bad)


def test_load_flipped_byte_in_payload_is_caught(tmp_path):
    data = bytearray(_good_npz(tmp_path).read_bytes())
    data[300] ^= 0xFF  # inside the first member's array bytes: the zip CRC no longer matches
    bad = tmp_path / "flip.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(NpzError, match="flip.npz"):
        load_npz(bad)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"hello, I am text", "not an .npz"),
    (pickle.dumps({"w": 1}), "not an .npz"),
])
def test_load_non_npz_is_a_clear_error(tmp_path, content, message):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(content)
    with pytest.raises(NpzError, match=f"bad.npz.*{message}"):
        load_npz(bad)


def test_load_npy_file_is_named_as_such(tmp_path):
    np.save(tmp_path / "single.npy", np.ones(3))
    with pytest.raises(NpzError, match="single.npy.*\\.npy"):
        load_npz(tmp_path / "single.npy")


def test_load_refuses_pickled_object_array(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, ok=np.ones(2), evil=np.array([{"code": 1}], dtype=object))
    with pytest.raises(NpzError, match="evil.npz.*'evil'.*pickled"):
        load_npz(path)


def test_load_directory_is_a_clear_error(tmp_path):
    with pytest.raises(NpzError, match="directory"):
        load_npz(tmp_path)
