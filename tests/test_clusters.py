"""k-means clusters (data/clusters.py) and the GAN runs conditioned on them (--clusters K):
k-means stops at Lloyd's fixed point and finds separated groups, deskewing centres and unslants
an image, the nearest-neighbour graph is brute force's and smoothing on it is its formula and
pulls a stray point into its crowd, and a cluster run trains,
samples clusters at their share of the images, resumes only on the same clusters and refuses
bad flags with one line."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygen.cli import main
from tinygen.data.clusters import deskew, kmeans, neighbours, pixel_clusters, smooth


@given(n=st.integers(3, 40), d=st.integers(1, 6), k=st.integers(1, 3), seed=st.integers(0, 9))
@settings(max_examples=30, deadline=None)
def test_kmeans_ends_at_lloyds_fixed_point(n, d, k, seed):
    """Every point is assigned to its nearest centre, every non-empty centre is its points'
    mean, and the inertia is the sum of their squared distances: neither step can lower it."""
    x = np.random.default_rng(seed).normal(size=(n, d))
    assign, centres, inertia = kmeans(x, k, seed=seed)
    dist = ((x[:, None, :] - centres[None]) ** 2).sum(-1)              # (n, k)
    assert np.allclose(dist[np.arange(n), assign], dist.min(1))
    for j in np.unique(assign):
        assert np.allclose(centres[j], x[assign == j].mean(0))
    assert inertia == pytest.approx(dist[np.arange(n), assign].sum())
    again = kmeans(x, k, seed=seed)
    assert np.array_equal(assign, again[0])                             # seeded: the same


def test_kmeans_finds_well_separated_groups_and_refuses_a_bad_k():
    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(4), 25)
    x = rng.normal(size=(4, 5))[truth] * 20 + rng.normal(size=(100, 5))
    assign = kmeans(x, 4, seed=1)[0]
    # one cluster per group: the same partition up to the clusters' names
    assert len({(t, a) for t, a in zip(truth, assign)}) == 4 == len(np.unique(assign))
    with pytest.raises(ValueError, match=r"1 <= k <= the number of images \(100\), got 101"):
        kmeans(x, 101)
    images = (rng.random((30, 1, 4, 4)) * 255).astype(np.uint8)
    ids = pixel_clusters(images, 3)
    assert ids.shape == (30,) and ids.dtype == np.int64 and set(ids) <= {0, 1, 2}


def _moments(img):
    """(row, column) centre of mass and slant cov / var_r of an image (H, W)."""
    r, c = np.mgrid[:img.shape[0], :img.shape[1]]
    p = img / img.sum()
    r0, c0 = (r * p).sum(), (c * p).sum()
    return r0, c0, ((r - r0) * (c - c0) * p).sum() / ((r - r0) ** 2 * p).sum()


@given(row=st.floats(9, 18), col=st.floats(9, 18), slant=st.floats(-0.6, 0.6),
       thick=st.floats(1.0, 2.0))
@settings(max_examples=25, deadline=None)
def test_deskew_moves_the_ink_to_the_centre_and_takes_its_slant_away(row, col, slant, thick):
    """A slanted stroke anywhere near the middle of a 28x28 grid comes out centred and upright
    (its moments, measured again), and every channel is moved the same way."""
    r, c = np.mgrid[:28, :28]
    stroke = np.exp(-((c - col - slant * (r - row)) / thick) ** 2) * (np.abs(r - row) < 7)
    assert abs(_moments(stroke)[2] - slant) < 0.05
    x = np.stack([stroke, 0.5 * stroke])[None]                           # (1, 2, 28, 28)
    out = deskew(x)
    r0, c0, s = _moments(out[0, 0])
    assert abs(r0 - 13.5) < 0.3 and abs(c0 - 13.5) < 0.3 and abs(s) < 0.05
    assert np.allclose(out[0, 1], 0.5 * out[0, 0])
    assert out.sum() == pytest.approx(x.sum(), rel=0.02)                 # the ink is kept


def test_deskew_leaves_a_centred_upright_image_and_a_blank_one_alone():
    plus = np.zeros((1, 1, 9, 9))
    plus[0, 0, 4, 2:7] = plus[0, 0, 2:7, 4] = 1.0                        # centred, cov = 0
    assert np.allclose(deskew(plus), plus)
    assert np.array_equal(deskew(np.zeros((2, 1, 5, 5))), np.zeros((2, 1, 5, 5)))


@given(n=st.integers(2, 30), d=st.integers(1, 5), k=st.integers(1, 4), seed=st.integers(0, 9),
       rows=st.integers(1, 40))
@settings(max_examples=40, deadline=None)
def test_neighbours_are_brute_forces_in_any_block_size(n, d, k, seed, rows):
    """Each row's k nearest other rows, nearest first (ties by index): the distance matrix
    sorted, whatever the blocks the distances are computed in."""
    from tinygen.data import clusters
    k = min(k, n - 1)
    x = np.random.default_rng(seed).integers(0, 3, size=(n, d)).astype(float)  # many ties
    dist = ((x[:, None] - x[None]) ** 2).sum(-1)
    np.fill_diagonal(dist, np.inf)
    expected = np.lexsort((np.broadcast_to(np.arange(n), (n, n)), dist), axis=1)[:, :k]
    before, clusters.DISTANCES = clusters.DISTANCES, rows * n     # blocks of `rows` rows
    try:
        assert np.array_equal(neighbours(x, k), expected)
    finally:
        clusters.DISTANCES = before
    with pytest.raises(ValueError, match=f"{n} nearest neighbours need more than {n} images"):
        neighbours(x, n)


def test_smoothing_is_its_formula_and_pulls_a_stray_point_into_the_nearer_crowd():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3))
    near = neighbours(x, 2)
    once = (x + x[near].mean(1)) / 2
    assert np.allclose(smooth(x, k=2, steps=1), once)
    assert np.allclose(smooth(x, k=2, steps=2), (once + once[near].mean(1)) / 2)  # x's graph
    # two crowds at 0 and 10 and a point at 4.5, a little nearer the first: smoothing takes it
    # most of the way there, while each crowd stays where it was
    crowds = np.concatenate([rng.normal(0, 0.3, 20), rng.normal(10, 0.3, 20), [4.5]])[:, None]
    out = smooth(crowds, k=5, steps=4)
    assert out[-1, 0] < 2.0
    assert abs(out[:20].mean() - crowds[:20].mean()) < 0.2 and abs(out[20:40].mean() - 10) < 0.3


# -- the command line -------------------------------------------------------------------------
TINY = ["train", "gan", "--dataset", "mnist-5k", "--limit", "64", "--batch-size", "16",
        "--epochs", "1", "--g-width", "8", "--d-width", "4"]


pytestmark = pytest.mark.usefixtures("fast_judge")   # conftest.py: an untrained judge


def test_a_cluster_run_trains_on_its_clusters_and_samples_them_at_their_share(tmp_path,
                                                                               capsys):
    from tinygen.runs import gan as rg
    run = tmp_path / "clusters"
    assert main([*TINY, "--clusters", "5", "--out", str(run)]) == 0
    cfg = json.loads((run / "config.json").read_text())
    data = rg.load_data(cfg)
    ids = pixel_clusters(data.x, 5, cfg["seed"])
    assert cfg["clusters"] == 5 and cfg["codes"] == 0 and cfg["conditional"] is False
    assert cfg["cluster_sizes"] == np.bincount(ids, minlength=5).tolist()
    assert cfg["grid"] == [1, 32, 32] and cfg["cluster_features"] == "smoothed"
    weights = np.load(run / "last.npz")
    assert weights["model/G/label_bn1.weight"].shape[0] == 5 and "model/D/q.weight" not in weights
    assert (run / "clusters.png").is_file() and not (run / "codes.png").exists()
    trainer = rg.Trainer(cfg)
    assert np.array_equal(trainer.cluster_labels(data), ids)
    drawn = np.bincount(trainer.generator_labels(20000), minlength=5) / 20000
    assert np.allclose(drawn, np.array(cfg["cluster_sizes"]) / 64, atol=0.015)
    assert np.array_equal(trainer.generator_labels(4, 3), [3, 3, 3, 3])
    # --code C draws cluster C; the same noise, so a sample already of cluster C is unchanged
    assert main(["sample", str(run), "-n", "6", "--out", str(tmp_path / "all.npy")]) == 0
    assert main(["sample", str(run), "-n", "6", "--code", "4",
                 "--out", str(tmp_path / "four.npy")]) == 0
    every, four = np.load(tmp_path / "all.npy"), np.load(tmp_path / "four.npy")
    same = trainer.generator_labels(6) == 4
    assert np.array_equal(every[same], four[same]) and not np.array_equal(every, four)
    # another --seed draws other clusters as well as other noise
    assert not np.array_equal(trainer.generator_labels(50, seed=3),
                              trainer.generator_labels(50, seed=4))
    trained = rg.restore(run, rg.KIND, rg.Trainer)
    assert np.array_equal(rg.sample(run, 6, seed=3),
                          rg._samples(trained, 6, 3, trained.generator_labels(6, seed=3)))
    capsys.readouterr()
    assert main(["eval", str(run), "--json", "--n-samples", "64"]) == 0
    assert "label_agreement" not in json.loads(capsys.readouterr().out)
    # the data under a run changed: its clusters are not the run's, and resuming says so
    cfg["cluster_sizes"] = cfg["cluster_sizes"][::-1] if len(set(cfg["cluster_sizes"])) > 1 \
        else [64] + [0] * 4
    with pytest.raises(ValueError, match="k-means clusters are not the run's"):
        rg.Trainer(cfg).cluster_labels(data)
    # a run made before the deskewing (no "cluster_features") was clustered on the raw pixels,
    # one made before the smoothing on the deskewed pixels: each resumes on its own
    raw = pixel_clusters(data.x, 5, cfg["seed"], features="pixels")
    assert not np.array_equal(raw, ids)
    before = {k: v for k, v in cfg.items() if k != "cluster_features"}
    before["cluster_sizes"] = np.bincount(raw, minlength=5).tolist()
    assert np.array_equal(rg.Trainer(before).cluster_labels(data), raw)
    unsmoothed = pixel_clusters(data.x, 5, cfg["seed"], features="deskewed")
    assert not np.array_equal(unsmoothed, ids)
    deskewed = {**cfg, "cluster_features": "deskewed",
                "cluster_sizes": np.bincount(unsmoothed, minlength=5).tolist()}
    assert np.array_equal(rg.Trainer(deskewed).cluster_labels(data), unsmoothed)
    with pytest.raises(ValueError, match="cluster features must be one of"):
        pixel_clusters(data.x, 5, features="blurred")


@pytest.mark.parametrize("argv,message", [
    (["--clusters", "1"], "--clusters 1 is out of range (2 to the 64 training images)"),
    (["--clusters", "65"], "--clusters 65 is out of range"),
    (["--clusters", "5", "--conditional"], "--clusters is for an unconditional run"),
    (["--clusters", "5", "--codes", "4"], "--clusters and --codes both give G a group"),
])
def test_bad_cluster_flags_fail_with_one_line_before_writing(tmp_path, capsys, argv, message):
    assert main([*TINY, *argv, "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "run").exists()


def test_clusters_are_for_image_data_the_default_of_grey_ones_and_none_in_old_runs(tmp_path,
                                                                                  capsys):
    from tinygen.runs import gan as rg
    assert main(["train", "gan", "--clusters", "4", "--out", str(tmp_path / "run")]) == 1
    assert "--clusters is for the DCGAN" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    data = rg.load_data({"dataset": "mnist-5k", "limit": 1200})
    cfg = rg.make_config({"dataset": "mnist-5k"}, data)      # 30 clusters: 40 images each
    assert cfg["clusters"] == 1200 // rg.IMAGES_PER_CLUSTER == 30
    assert rg.DEFAULTS["images"]["clusters"] == 100
    assert sum(cfg["cluster_sizes"]) == 1200 and cfg["codes"] == 0
    old = rg.Trainer({k: v for k, v in cfg.items() if k != "clusters"})
    assert old.clusters == 0 and old.cluster_labels(data) is None
