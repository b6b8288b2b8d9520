"""Bootstrap intervals: numpy scores equal scikit-learn's; intervals that behave as intervals should."""

import warnings

import numpy as np
import pytest
from sklearn import metrics

from skinkit.metrics import SCORES
from skinkit.reporting.chance import CHANCE_BALANCED_ACCURACY
from skinkit.reporting.intervals import difference_interval, score_interval, stratified_resamples, with_interval

SKLEARN = {
    "accuracy": metrics.accuracy_score,
    "balanced_accuracy": metrics.balanced_accuracy_score,
    "macro_f1": lambda t, p: metrics.f1_score(t, p, labels=range(7), average="macro", zero_division=0),
}


def noisy_predictions(y_true, hit_rate, seed):
    """Predictions that are right with probability `hit_rate`, else a random class."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random(len(y_true)) < hit_rate, y_true, rng.integers(0, 7, len(y_true)))


def true_labels(images, seed=0, classes=7):
    """Random true classes 0 .. classes-1 for `images` test images."""
    return np.random.default_rng(seed).integers(0, classes, images)


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("images, classes", [(35, 7), (400, 7), (60, 5)])
def test_scores_equal_scikit_learn(score, images, classes):
    y_true = true_labels(images, classes=classes)  # classes=5: two classes absent from the test split
    y_pred = noisy_predictions(y_true, 0.4, seed=1)
    y_pred[:3] = 6  # a class predicted but never true
    with warnings.catch_warnings():  # scikit-learn notes the class predicted but never true
        warnings.simplefilter("ignore", UserWarning)
        expected = SKLEARN[score](y_true, y_pred)
    assert SCORES[score](y_true, y_pred) == pytest.approx(expected)


@pytest.mark.parametrize("score", SCORES)
def test_scores_work_row_by_row_on_stacked_resamples(score):
    y_true, y_pred = np.stack([true_labels(50, seed=s) for s in range(4)]), np.zeros((4, 50), int)
    expected = [SKLEARN[score](t, p) for t, p in zip(y_true, y_pred)]
    assert SCORES[score](y_true, y_pred) == pytest.approx(expected)


def test_resamples_keep_every_class_count():
    y_true = np.repeat(np.arange(7), [3, 1, 5, 2, 4, 20, 1])
    index = stratified_resamples(y_true, resamples=50, seed=0)
    assert index.shape == (50, len(y_true))
    for row in y_true[index]:
        assert np.bincount(row, minlength=7).tolist() == np.bincount(y_true).tolist()


@pytest.mark.parametrize("score", SCORES)
def test_interval_holds_the_score_and_narrows_with_more_images(score):
    widths = []
    for images in (35, 1000):
        y_true = true_labels(images)
        y_pred = noisy_predictions(y_true, 0.5, seed=2)
        low, high = score_interval(score, y_true, y_pred)
        assert low <= SCORES[score](y_true, y_pred) <= high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2


def test_one_class_everywhere_scores_exactly_chance():
    y_true = np.repeat(np.arange(7), 5)
    low, high = score_interval("balanced_accuracy", y_true, np.full(35, 5))
    assert low == pytest.approx(CHANCE_BALANCED_ACCURACY) and high == pytest.approx(CHANCE_BALANCED_ACCURACY)


def test_interval_is_reproducible_and_follows_the_confidence():
    y_true = true_labels(200)
    y_pred = noisy_predictions(y_true, 0.5, seed=3)
    wide = score_interval("accuracy", y_true, y_pred)
    assert score_interval("accuracy", y_true, y_pred) == wide
    narrow = score_interval("accuracy", y_true, y_pred, confidence=0.5)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_paired_difference_separates_a_better_model_only():
    y_true = true_labels(1000)
    good, bad = noisy_predictions(y_true, 0.7, seed=4), noisy_predictions(y_true, 0.3, seed=5)
    low, high = difference_interval("balanced_accuracy", y_true, good, bad)
    assert 0 < low < high
    assert difference_interval("balanced_accuracy", y_true, good, good) == (0.0, 0.0)
    twin = noisy_predictions(y_true, 0.7, seed=6)
    low, high = difference_interval("balanced_accuracy", y_true, good, twin)
    assert low < 0 < high


def test_a_score_and_its_interval_read_back_as_the_same_numbers():
    text = with_interval(0.43149, 0.3921, 0.4704)
    assert [float(part) for part in text.replace("[", " ").replace("]", " ").replace(",", " ").split()] == [
        0.431, 0.392, 0.470]
    signed = with_interval(0.012, -0.02, 0.045, signed=True)
    assert signed.split()[0] == "+0.012" and "-0.020" in signed and "+0.045" in signed
    assert with_interval(float("nan"), 0.1, 0.2) == "n/a" and "n/a" in with_interval(0.5, float("nan"), 0.6)
    assert with_interval(0.5, 0.25, 0.75, digits=1).split()[0] == "0.5"
