"""skinkit.uncertainty against independent computations: MAPIE's split conformal classifier, a grid
search of the likelihood, scipy's Mahalanobis distance, and hand-worked examples."""

import math

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.spatial.distance import mahalanobis as scipy_mahalanobis
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.covariance import LedoitWolf

from skinkit.uncertainty import conformal, gate, nonlesions, temperature

from .helpers import SAMPLE
from .run_fixtures import simulated_probabilities


class SavedProbabilities(ClassifierMixin, BaseEstimator):
    """A prefit classifier whose input rows are already its probabilities (for MAPIE)."""

    def fit(self, X, y):
        self.classes_ = np.arange(7)
        return self

    def predict_proba(self, X):
        return np.asarray(X)

    def predict(self, X):
        return np.asarray(X).argmax(axis=1)


@pytest.fixture(scope="module")
def split():
    """Validation and test labels with the probabilities of a middling model."""
    rng = np.random.default_rng(3)
    y_val, y_test = rng.integers(0, 7, 500), rng.integers(0, 7, 700)
    return (y_val, simulated_probabilities(y_val, skill=1.5, sharpness=2.0, seed=1),
            y_test, simulated_probabilities(y_test, skill=1.5, sharpness=2.0, seed=2))


def test_conformal_sets_equal_mapies(split):
    classification = pytest.importorskip("mapie.classification")
    y_val, p_val, y_test, p_test = split
    for alpha in (0.05, 0.1, 0.2):
        reference = classification.SplitConformalClassifier(
            SavedProbabilities().fit(p_val, y_val), confidence_level=1 - alpha, conformity_score="lac", prefit=True)
        reference.conformalize(p_val, y_val)
        expected = reference.predict_set(p_test)[1][:, :, 0]
        got = conformal.prediction_sets(p_test, conformal.conformal_threshold(p_val, y_val, alpha))
        assert (got == expected).all(), alpha


def test_a_hand_worked_threshold():
    # nine calibration images with true-class probabilities 0.9, 0.8, ..., 0.1: scores 0.1 ... 0.9
    p = np.full((9, 7), 0.0)
    p[np.arange(9), 0] = np.linspace(0.9, 0.1, 9)
    p[:, 1] = 1 - p[:, 0]
    labels = np.zeros(9, dtype=int)
    # alpha 0.2: rank ceil(10 x 0.8) = 8, the 8th smallest score is 0.8
    assert conformal.conformal_threshold(p, labels, 0.2) == pytest.approx(0.8)
    # alpha 0.05: rank ceil(10 x 0.95) = 10 > 9 images: every class
    assert conformal.conformal_threshold(p, labels, 0.05) == 1.0
    assert conformal.prediction_sets(np.array([[0.3, 0.24, 0.46, 0, 0, 0, 0]]), 0.75).tolist() == [
        [True, False, True, False, False, False, False]]  # 1 - 0.24 = 0.76 is above 0.75


def test_coverage_holds_on_exchangeable_images():
    # 200 draws of calibration and test images from one simulated model: mean coverage >= 1 - alpha
    coverages = []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 7, 300)
        p = simulated_probabilities(y, skill=1.0, seed=seed)
        sets = conformal.prediction_sets(p[100:], conformal.conformal_threshold(p[:100], y[:100], 0.1))
        coverages.append(sets[np.arange(200), y[100:]].mean())
    assert np.mean(coverages) >= 0.9 - 0.005


def test_the_temperature_minimises_the_validation_likelihood(split):
    y_val, p_val, _, _ = split
    logits, target = torch.log(torch.tensor(p_val)), torch.tensor(y_val)
    grid = np.linspace(0.5, 6, 2201)
    nll = [float(torch.nn.functional.cross_entropy(logits / t, target)) for t in grid]
    fitted = temperature.fit_temperature(p_val, y_val)
    assert fitted == pytest.approx(grid[int(np.argmin(nll))], abs=0.01) and fitted > 1.3  # over-confident
    scaled = temperature.scaled(p_val, fitted)
    assert (scaled.argmax(1) == p_val.argmax(1)).all() and np.allclose(scaled.sum(1), 1)


def test_mahalanobis_equals_scipys_per_class_minimum():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(7), 40)
    features = rng.normal(size=(280, 12)) + labels[:, None] * 0.5
    means, precision = gate.fit_gate(features, labels)
    centred = features - np.stack([features[labels == k].mean(0) for k in range(7)])[labels]
    assert np.allclose(precision, LedoitWolf().fit(centred).precision_)
    new = rng.normal(size=(15, 12)) * 3
    expected = [min(scipy_mahalanobis(row, mean, precision) ** 2 for mean in means) for row in new]
    assert np.allclose(gate.mahalanobis(new, means, precision), expected)


def test_the_gate_threshold_refuses_the_asked_share():
    scores = np.random.default_rng(1).gamma(2, size=1000)
    threshold = gate.gate_threshold(scores, 0.05)
    assert (scores > threshold).mean() == pytest.approx(0.05, abs=0.002)


def test_a_frame_without_contrast_scores_above_any_distance_and_others_keep_theirs():
    rng = np.random.default_rng(2)
    blank = np.stack([np.full((1, 32, 32), level, dtype=np.uint8) for level in (0, 60, 128, 200, 255)])
    faint = blank[:1] + rng.integers(0, 2, (1, 1, 32, 32), dtype=np.uint8)  # one gray level of sensor noise
    lesion = np.array(Image.open(sorted((SAMPLE / "val").glob("*.png"))[0]))[None, None]
    images = [blank, faint, rng.integers(0, 256, (2, 1, 32, 32), dtype=np.uint8)]
    expected_std = np.concatenate([frames.reshape(len(frames), -1).std(axis=1) for frames in images])
    assert np.allclose(gate.contrast(np.concatenate(images)), expected_std, atol=1e-4)
    distances = rng.gamma(2, size=8) * 100
    scores = gate.gate_score(distances, np.concatenate(images)).numpy()
    assert (scores[:6] == gate.BLANK_SCORE).all() and np.isfinite(scores).all()
    np.testing.assert_array_equal(scores[6:], distances[6:])
    assert gate.gate_score([7.0], lesion).item() == 7.0  # a real lesion photo: its distance decides


def test_non_lesion_photos_are_reproducible_and_of_every_kind():
    table, photos = nonlesions.non_lesion_photos(seed=0)
    again = nonlesions.non_lesion_photos(seed=0)[1]
    assert photos.dtype == np.uint8 and photos.shape[1:] == (1, 300, 300) and len(table) == len(photos)
    assert (photos == again).all()
    assert {"picture", "crop of a picture", "blank", "noise", "text", "logo"} <= set(table["kind"])
    blank = photos[(table["kind"] == "blank").to_numpy()]
    assert all(len(np.unique(frame)) == 1 for frame in blank)
    assert math.isclose(photos[(table["kind"] == "noise").to_numpy()].std(), 255 / math.sqrt(12), rel_tol=0.05)
