"""tinygen.checkpoint: exact resume, and damaged or mismatched files that change nothing."""
import json
import zipfile

import numpy as np
import pytest

import tinygen as tg
from tinygen import functional as F
from tinygen import nn, optim
from tinygen import random as tgr
from tinygen.checkpoint import CheckpointError, load_checkpoint, load_meta, save_checkpoint


def make_model(hidden=8):
    return nn.Sequential(nn.Linear(3, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2),
                         nn.Dropout(0.25), nn.Linear(hidden, 1))


def make_run(seed=0, hidden=8):
    tgr.manual_seed(seed)
    model = make_model(hidden)
    return model, optim.Adam(model.parameters(), lr=0.01, weight_decay=0.01)


def train(model, optimizer, steps):
    """Batches and dropout masks come from tinygen.random, so the RNG state matters."""
    for _ in range(steps):
        x = tg.tensor(tgr.get_rng().standard_normal((16, 3), dtype=np.float32))
        target = tg.tensor((x.data.sum(axis=1, keepdims=True) > 0).astype(np.float32))
        optimizer.zero_grad()
        F.binary_cross_entropy_with_logits(model(x), target).backward()
        optimizer.step()


def snapshot(model, optimizer):
    opt = optimizer.state_dict()
    arrays = {f"opt/{i}/{k}": np.asarray(v) for i, s in opt["state"].items() for k, v in s.items()}
    return {**model.state_dict(), **arrays, "rng": np.asarray(json.dumps(tgr.get_state()))}


def assert_same(a, b):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_resume_from_a_checkpoint_continues_bit_identically(tmp_path):
    model, adam = make_run(seed=0)
    train(model, adam, 8)
    straight = snapshot(model, adam)

    model, adam = make_run(seed=0)
    train(model, adam, 4)
    save_checkpoint(tmp_path / "ck.npz", {"model": model}, {"adam": adam},
                    {"step": 4, "epoch": 1, "config": {"lr": 0.01, "hidden": [8]}})
    train(model, adam, 2)  # whatever happens after saving is forgotten

    model, adam = make_run(seed=123)  # fresh objects with other weights and another RNG state
    meta = load_checkpoint(tmp_path / "ck.npz", {"model": model}, {"adam": adam})
    assert meta == {"step": 4, "epoch": 1, "config": {"lr": 0.01, "hidden": [8]}}
    train(model, adam, 4)
    assert_same(snapshot(model, adam), straight)


def test_save_and_load_round_trip_models_optimizers_and_rng(tmp_path):
    generator, discriminator = make_model(), make_model(4)
    g_opt = optim.Adam(generator.parameters())
    d_opt = optim.SGD(discriminator.parameters(), lr=0.1, momentum=0.9)
    train(generator, g_opt, 1)
    train(discriminator, d_opt, 1)
    path = save_checkpoint(tmp_path / "gan.npz", {"G": generator, "D": discriminator},
                           {"G": g_opt, "D": d_opt}, {"step": 1})
    expected_rng = tgr.get_rng().random(3)

    tgr.manual_seed(99)
    g2, d2 = make_model(), make_model(4)
    g2_opt, d2_opt = optim.Adam(g2.parameters()), optim.SGD(d2.parameters(), lr=0.5)
    load_checkpoint(path, {"G": g2, "D": d2}, {"G": g2_opt, "D": d2_opt})
    np.testing.assert_array_equal(tgr.get_rng().random(3), expected_rng)
    assert_same(g2.state_dict(), generator.state_dict())
    assert_same(d2.state_dict(), discriminator.state_dict())
    assert d2_opt.param_groups[0]["lr"] == 0.1 and d2_opt.param_groups[0]["momentum"] == 0.9
    assert g2_opt.state[g2[0].weight]["step"] == 1
    assert load_meta(path) == {"step": 1}


def test_loading_only_some_of_the_saved_models_is_allowed(tmp_path):
    generator = make_model()
    save_checkpoint(tmp_path / "gan.npz", {"G": generator, "D": make_model(4)})
    copy = make_model()
    load_checkpoint(tmp_path / "gan.npz", {"G": copy}, restore_rng=False)
    assert_same(copy.state_dict(), generator.state_dict())


def test_the_file_is_a_plain_npz_without_pickles(tmp_path):
    model, adam = make_run()
    train(model, adam, 1)
    save_checkpoint(tmp_path / "ck.npz", {"m": model}, {"opt": adam}, {"epoch": 3})
    with np.load(tmp_path / "ck.npz", allow_pickle=False) as npz:
        header = json.loads(str(npz["__checkpoint__"]))
        assert header["format"] == "tinygen.checkpoint" and header["version"] == 1
        assert npz["model/m/0.weight"].shape == (8, 3)
        assert npz["optimizer/opt/0/exp_avg"].shape == (8, 3)
        assert not any(npz[name].dtype.hasobject for name in npz.files)


# -- bad files and mismatches: clear errors, nothing touched ---------------------------------
@pytest.fixture
def saved(tmp_path):
    model, adam = make_run(seed=0)
    train(model, adam, 1)
    path = save_checkpoint(tmp_path / "ck.npz", {"model": model}, {"adam": adam}, {"step": 1})
    return path


def assert_load_fails_and_changes_nothing(path, match, hidden=8, model=None):
    model, adam = make_run(seed=5, hidden=hidden) if model is None else (model, None)
    adam = adam or optim.Adam(model.parameters())
    train(model, adam, 1)
    before = snapshot(model, adam)
    with pytest.raises(CheckpointError, match=match) as info:
        load_checkpoint(path, {"model": model}, {"adam": adam})
    assert_same(snapshot(model, adam), before)
    return str(info.value)


def test_another_architecture_fails_listing_the_mismatching_names_and_shapes(saved):
    message = assert_load_fails_and_changes_nothing(saved, "does not fit", hidden=5)
    for fragment in ("model 'model'", "0.weight: given (8, 3), module has (5, 3)",
                     "1.running_mean: given (8,), module has (5,)",
                     "optimizer 'adam'", "exp_avg has shape (8, 3), the parameter has (5, 3)"):
        assert fragment in message


def test_missing_and_unexpected_parameter_names_are_listed(saved):
    other = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.Linear(8, 1))  # no dropout slot
    message = assert_load_fails_and_changes_nothing(saved, "does not fit", model=other)
    assert "missing: 2.weight (1, 8), 2.bias (1,)" in message
    assert "unexpected: 4.weight (1, 8), 4.bias (1,)" in message


def test_a_truncated_file_fails_clearly(saved):
    data = saved.read_bytes()
    for keep in (len(data) // 2, len(data) - 30, 10):
        saved.write_bytes(data[:keep])
        assert_load_fails_and_changes_nothing(saved, "not a readable checkpoint")


def test_random_bytes_fail_clearly(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    assert_load_fails_and_changes_nothing(path, "not a readable checkpoint.*noise.npz")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    assert_load_fails_and_changes_nothing(empty, "empty")


def test_a_plain_npz_without_the_marker_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "weights.npz"
    np.savez(path, **{"model/model/0.weight": np.zeros((8, 3), np.float32)})
    assert_load_fails_and_changes_nothing(path, "not a tinygen checkpoint.*model/model/0.weight")


def test_a_wrong_marker_or_a_newer_version_is_refused(tmp_path, saved):
    arrays = dict(np.load(saved))
    header = json.loads(str(arrays["__checkpoint__"]))
    for change, match in (({"format": "other"}, "format marker"), ({"version": 2}, "version 2")):
        arrays["__checkpoint__"] = np.array(json.dumps({**header, **change}))
        np.savez(tmp_path / "bad.npz", **arrays)
        assert_load_fails_and_changes_nothing(tmp_path / "bad.npz", match)


def test_a_pickled_object_array_is_refused_without_unpickling(tmp_path, saved):
    arrays = dict(np.load(saved))
    arrays["payload"] = np.array([{"x": 1}], dtype=object)
    np.savez(tmp_path / "pickled.npz", **arrays)
    assert_load_fails_and_changes_nothing(tmp_path / "pickled.npz", "pickle")


def test_an_unknown_model_name_fails_naming_what_the_file_has(saved):
    with pytest.raises(CheckpointError, match="no model named 'G'.*'model'"):
        load_checkpoint(saved, {"G": make_model()})


def test_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_checkpoint(tmp_path / "nope.npz", {"model": make_model()})


def test_unserialisable_meta_fails_before_writing_and_keeps_the_old_file(saved):
    before = saved.read_bytes()
    with pytest.raises(TypeError, match="JSON"):
        save_checkpoint(saved, {"model": make_model()}, meta={"when": object()})
    assert saved.read_bytes() == before
    assert zipfile.is_zipfile(saved)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match=r"models\['m'\] is a list"):
        save_checkpoint("x.npz", {"m": []})
    with pytest.raises(ValueError, match="without '/'"):
        save_checkpoint("x.npz", {"a/b": make_model()})
