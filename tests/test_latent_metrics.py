"""Metric math of issue 12: Fréchet distance and KID on features, k-NN accuracy, latent paths,
and the judge's feature / label-agreement functions -- each checked against its definition."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygen.metrics.classifier import MNISTClassifier, features, label_agreement
from tinygen.metrics.fid import fid_from_features, frechet_distance, kid_from_features
from tinygen.metrics.latent import knn_accuracy, knn_predict, lerp, slerp, traversals


def _random_covariance(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_fid_of_a_set_with_itself_is_zero():
    f = np.random.default_rng(0).standard_normal((500, 16))
    assert abs(fid_from_features(f, f)) < 1e-6


@given(st.integers(0, 1000), st.integers(1, 6))
@settings(max_examples=10)
def test_frechet_distance_of_diagonal_gaussians_matches_the_closed_form(seed, d):
    # commuting (diagonal) covariances: Tr(S1 + S2 - 2 sqrt(S1 S2)) = sum (sqrt(a) - sqrt(b))^2
    rng = np.random.default_rng(seed)
    m1, m2 = rng.standard_normal(d), rng.standard_normal(d)
    a, b = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    expected = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(m1, np.diag(a), m2, np.diag(b)) == pytest.approx(expected, abs=1e-9)


def test_frechet_distance_matches_scipy_sqrtm_for_full_covariances():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(1)
    s1, s2 = _random_covariance(rng, 8), _random_covariance(rng, 8)
    m1, m2 = rng.standard_normal(8), rng.standard_normal(8)
    expected = (np.sum((m1 - m2) ** 2) + np.trace(s1 + s2)
                - 2 * np.trace(linalg.sqrtm(s1 @ s2).real))
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-8)


def test_fid_of_samples_approaches_the_distance_of_their_gaussians():
    rng = np.random.default_rng(2)
    s1, s2 = _random_covariance(rng, 4), _random_covariance(rng, 4)
    m2 = np.array([1.0, 0, 0, -1.0])
    f1 = rng.multivariate_normal(np.zeros(4), s1, 100_000)
    f2 = rng.multivariate_normal(m2, s2, 100_000)
    assert fid_from_features(f1, f2) == pytest.approx(
        frechet_distance(np.zeros(4), s1, m2, s2), rel=0.03)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((1000, 8)), rng.standard_normal((1000, 8))
    assert abs(kid_from_features(a, b, subsets=5, subset_size=500)) < 0.01
    assert kid_from_features(a, b + 1.0, subsets=5, subset_size=500) > 0.5


def test_fid_refuses_mismatched_feature_sizes():
    with pytest.raises(ValueError, match="FID"):
        fid_from_features(np.zeros((5, 3)), np.zeros((5, 4)))


def test_knn_is_perfect_on_separable_clusters_and_near_chance_on_random_labels():
    rng = np.random.default_rng(4)
    centres = 10 * rng.standard_normal((4, 5))
    y_train, y_test = rng.integers(0, 4, 400), rng.integers(0, 4, 100)
    z_train = centres[y_train] + rng.standard_normal((400, 5))
    z_test = centres[y_test] + rng.standard_normal((100, 5))
    assert knn_accuracy(z_train, y_train, z_test, y_test) == 1.0
    shuffled = rng.permutation(y_train)
    assert knn_accuracy(z_train, shuffled, z_test, y_test) < 0.5


def test_knn_majority_vote_and_tie_break_by_distance():
    train = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    labels = np.array([0, 0, 1, 1, 1])
    # k=3 around 0.4: labels 0, 0, 1 -> 0 (majority); k=2 around 1.4: one 0 at 0.4, one 1 at
    # 0.6 -> a tie, won by the nearer label 0
    assert knn_predict(train, labels, np.array([[0.4]]), k=3)[0] == 0
    assert knn_predict(train, labels, np.array([[1.4]]), k=2)[0] == 0
    assert knn_predict(train, labels, np.array([[1.6]]), k=2)[0] == 1


def test_lerp_and_slerp_start_and_end_at_the_endpoints():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(30), rng.standard_normal(30)
    t = np.linspace(0, 1, 7)
    for path in (lerp(a, b, t), slerp(a, b, t)):
        assert path.shape == (7, 30) and path.dtype == np.float32
        np.testing.assert_allclose(path[0], a, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(path[-1], b, rtol=1e-5, atol=1e-5)
    # slerp between two vectors of one norm keeps that norm; lerp cuts the corner
    b = b * np.linalg.norm(a) / np.linalg.norm(b)
    np.testing.assert_allclose(np.linalg.norm(slerp(a, b, t), axis=1), np.linalg.norm(a),
                               rtol=1e-5)
    assert np.linalg.norm(lerp(a, b, t)[3]) < 0.9 * np.linalg.norm(a)


def test_traversals_move_one_unit_at_a_time():
    mu = np.arange(4, dtype=np.float32)
    z = traversals(mu, [2, 0], [-3.0, 0.0, 3.0])
    assert z.shape == (6, 4)
    np.testing.assert_array_equal(z[:3, 2], [-3, 0, 3])
    np.testing.assert_array_equal(z[3:, 0], [-3, 0, 3])
    np.testing.assert_array_equal(np.delete(z[:3], 2, axis=1), np.tile([0, 1, 3], (3, 1)))


def test_judge_features_are_its_penultimate_layer_and_agreement_counts_hits():
    model = MNISTClassifier().eval()
    x = np.random.default_rng(6).uniform(0, 1, (12, 1, 28, 28)).astype(np.float32)
    f = features(model, x)
    assert f.shape == (12, 128) and f.min() >= 0          # after ReLU
    logits = f @ model.net[-1].weight.data.T.astype(np.float64) + model.net[-1].bias.data
    predicted = logits.argmax(1)
    y = predicted.copy()
    y[:3] = (y[:3] + 1) % 10                              # three deliberate misses
    result = label_agreement(model, x, y)
    assert result["label_agreement"] == pytest.approx(9 / 12)
    assert len(result["label_agreement_per_class"]) == 10
