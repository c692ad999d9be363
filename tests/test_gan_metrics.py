"""GAN metrics: the 2D mode protocol and the classifier scores behave as their definitions say."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygen.data import GRID25, RING8
from tinygen.metrics.classifier import (MNISTClassifier, predict_proba, scores_from_proba,
                                        train_classifier)
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


def test_classifier_learns_mnist_in_one_epoch():
    from tinygen.data import as_float, load_dataset
    test = load_dataset("mnist-5k", "test")
    model = train_classifier(epochs=1)
    assert (predict_proba(model, as_float(test.x)).argmax(1) == test.y).mean() > 0.8


def test_predict_proba_rejects_non_mnist_shapes():
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        predict_proba(MNISTClassifier(), np.zeros((2, 3, 28, 28)))
