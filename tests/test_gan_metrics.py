"""GAN metrics: the 2D mode protocol and the classifier scores behave as their definitions say."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygen.data import GRID25, RING8
from tinygen.metrics import classifier as judge
from tinygen.metrics.classifier import (MNISTClassifier, bilinear_sample, broken_strokes,
                                        calibration_error, features, fit_temperature,
                                        predict_proba, random_affine, scores_from_proba,
                                        train_classifier)
from tinygen.metrics.fid import fid_from_features
from tinygen.metrics.modes import mode_histogram, mode_metrics, reverse_kl_to_uniform


@pytest.mark.parametrize("mixture", [RING8, GRID25])
def test_real_samples_capture_every_mode_with_about_99_percent_high_quality(mixture):
    m = mode_metrics(mixture.sample(5000, 0), mixture)
    # within 3 std of a 2D Gaussian: P = 1 - exp(-9/2) = 98.9%
    assert m["modes"] == len(mixture.centres)
    assert 98.0 < m["hq_pct"] < 99.7
    assert m["reverse_kl"] < 0.01


def test_one_collapsed_mode_gives_log_k_reverse_kl():
    points = np.repeat(RING8.centres[3:4], 100, axis=0) + 0.01
    m = mode_metrics(points, "ring8")
    assert (m["modes"], m["hq_pct"]) == (1, 100.0)
    assert m["reverse_kl"] == pytest.approx(np.log(8))


def test_points_far_from_every_mode_are_not_high_quality():
    points = np.zeros((50, 2)) + [0.0, 0.5]          # between modes of the ring
    m = mode_metrics(points, RING8)
    assert (m["modes"], m["hq_pct"], m["reverse_kl"]) == (0, 0.0, float("inf"))


def test_hq_threshold_is_three_standard_deviations():
    centre, s = RING8.centres[0], RING8.std
    inside, outside = centre + [2.99 * s, 0], centre + [3.01 * s, 0]
    _, hq = mode_histogram(np.stack([inside, outside]), RING8)
    assert hq.tolist() == [True, False]


@given(st.lists(st.integers(0, 50), min_size=2, max_size=30).filter(lambda c: sum(c) > 0))
def test_reverse_kl_lies_between_zero_and_log_k_and_ignores_order(counts):
    kl = reverse_kl_to_uniform(counts)
    assert -1e-12 <= kl <= np.log(len(counts)) + 1e-12
    assert kl == pytest.approx(reverse_kl_to_uniform(counts[::-1]), abs=1e-12)
    if len(set(counts)) == 1:
        assert kl == pytest.approx(0.0, abs=1e-12)


def test_mode_metrics_reject_bad_points():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        mode_metrics(np.zeros((4, 3)), RING8)
    with pytest.raises(ValueError, match="unknown mixture"):
        mode_metrics(np.zeros((4, 2)), "ring9")


def test_confident_balanced_predictions_score_k_and_identical_ones_score_1():
    one_hot = np.eye(10)[np.arange(200) % 10]
    s = scores_from_proba(one_hot)
    assert s["classifier_is"] == pytest.approx(10.0)
    assert s["label_kl"] == pytest.approx(0.0, abs=1e-12) and s["classes"] == 10
    s = scores_from_proba(np.tile(np.linspace(1, 2, 10) / 15.0, (50, 1)))
    assert s["classifier_is"] == pytest.approx(1.0)
    assert s["classes"] == 1 and s["label_kl"] == pytest.approx(np.log(10))


@given(st.integers(1, 9), st.integers(0, 10_000))
def test_classifier_is_matches_its_definition(k, seed):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(k + 1), size=40)
    p_y = p.mean(0)
    expected = np.exp(np.mean(np.sum(p * np.log(p / p_y), axis=1)))
    assert scores_from_proba(p)["classifier_is"] == pytest.approx(expected, rel=1e-9)
    assert 1 - 1e-9 <= expected <= k + 1 + 1e-9


@pytest.fixture(scope="module")
def short_judge():
    """The judge's recipe with 4 epochs instead of 60 (a few CPU-seconds)."""
    return train_classifier(epochs=4)


def test_classifier_learns_mnist_in_four_epochs(short_judge):
    from tinygen.data import as_float, load_dataset
    test = load_dataset("mnist-5k", "test")
    assert (predict_proba(short_judge, as_float(test.x)).argmax(1) == test.y).mean() > 0.9
    assert 0.3 < short_judge.temperature < 3 and short_judge.temperature != 1.0   # fitted


def test_judge_is_surer_of_real_digits_than_of_broken_strokes(short_judge):
    from tinygen.data import as_float, load_dataset
    real = as_float(load_dataset("mnist-5k", "test").x)
    broken = broken_strokes(real)
    s_real = scores_from_proba(predict_proba(short_judge, real))
    s_broken = scores_from_proba(predict_proba(short_judge, broken))
    assert s_real["confident"] > s_broken["confident"] + 0.1
    assert s_real["classifier_is"] > s_broken["classifier_is"] + 0.5
    f_real, f_train = features(short_judge, real), features(short_judge, as_float(
        load_dataset("mnist-5k", "train").x))
    floor = fid_from_features(f_train, f_real)
    assert fid_from_features(features(short_judge, broken), f_real) > 2 * floor


def test_broken_strokes_are_deterministic_and_change_every_digit():
    x = np.zeros((6, 1, 28, 28), np.float32)
    x[:, :, 6:22, 12:16] = 1.0                            # a thick vertical bar: a "1"
    a, b = broken_strokes(x, seed=3), broken_strokes(x, seed=3)
    np.testing.assert_array_equal(a, b)
    changed = np.abs(a - x).reshape(6, -1).sum(1)
    assert np.all(changed > 3) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    assert np.all(x[:, :, 6:22, 12:16] == 1.0)           # the input is left alone


def test_bilinear_sample_at_whole_pixels_moves_the_image_and_fills_zeros():
    x = np.random.default_rng(0).random((2, 3, 5, 7)).astype(np.float32)
    iy, ix = np.mgrid[:5, :7].astype(np.float64)
    iy, ix = np.broadcast_to(iy, (2, 5, 7)), np.broadcast_to(ix, (2, 5, 7))
    np.testing.assert_array_equal(bilinear_sample(x, iy, ix), x)
    moved = bilinear_sample(x, iy + 1, ix - 2)            # reads one row down, two columns left
    np.testing.assert_array_equal(moved[:, :, :4, 2:], x[:, :, 1:, :5])
    assert np.all(moved[:, :, 4] == 0) and np.all(moved[:, :, :, :2] == 0)
    half = bilinear_sample(x, iy, ix + 0.5)[:, :, :, :6]
    np.testing.assert_allclose(half, (x[..., :-1] + x[..., 1:]) / 2, rtol=1e-6)


def test_random_affine_with_zero_ranges_is_the_identity_and_otherwise_warps():
    x = np.random.default_rng(0).random((4, 1, 28, 28)).astype(np.float32)
    rng = np.random.default_rng(1)
    np.testing.assert_allclose(random_affine(x, rng, 0, 0, 0, 0), x, atol=1e-6)
    warped = random_affine(x, rng)
    assert warped.shape == x.shape and warped.dtype == np.float32
    assert np.all(np.abs(warped - x).reshape(4, -1).mean(1) > 0.05)


@pytest.mark.parametrize("t_true", [0.5, 1.0, 3.0])
def test_fit_temperature_undoes_a_known_overconfidence(t_true):
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, size=(4000, 10))
    p = np.exp(z - z.max(1, keepdims=True))
    cdf = np.cumsum(p / p.sum(1, keepdims=True), 1)
    y = np.minimum((rng.random((4000, 1)) > cdf).sum(1), 9)    # y ~ softmax(z)
    assert fit_temperature(z * t_true, y) == pytest.approx(t_true, rel=0.1)


def test_calibration_error_is_zero_when_confidence_matches_accuracy():
    p = np.full((100, 2), 0.2)
    p[:, 0] = 0.8                                          # always 80% sure of class 0
    y = np.where(np.arange(100) < 80, 0, 1)
    assert calibration_error(p, y) == pytest.approx(0.0, abs=1e-12)
    assert calibration_error(p, np.zeros(100, int)) == pytest.approx(0.2)


def test_confident_is_the_share_with_max_probability_above_0_9():
    p = np.array([[0.95, 0.05], [0.9, 0.1], [0.5, 0.5], [0.01, 0.99]])
    assert scores_from_proba(p)["confident"] == pytest.approx(0.5)


def test_cached_judge_keeps_its_temperature(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYGEN_CACHE", str(tmp_path))
    monkeypatch.setattr(judge, "_CACHE", {})
    untrained = MNISTClassifier().eval()
    untrained.temperature = 2.5
    monkeypatch.setattr(judge, "train_classifier", lambda: untrained)
    assert judge.classifier()[0].temperature == 2.5
    monkeypatch.setattr(judge, "_CACHE", {})
    monkeypatch.setattr(judge, "train_classifier", None)   # now it must come from the file
    model, _ = judge.classifier()
    assert model is not untrained and model.temperature == 2.5


def test_predict_proba_rejects_non_mnist_shapes():
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        predict_proba(MNISTClassifier(), np.zeros((2, 3, 28, 28)))
