"""95 % bootstrap intervals for test scores, redrawing the test images (a stratified bootstrap).

Each resample redraws, with replacement, as many images of each class as the test split holds,
so every resample keeps the split's class mix: balanced accuracy then always averages the same
seven classes (a plain resample can drop a rare class and move the score for no real reason).
The scores are numpy versions of scikit-learn's that score thousands of resamples at once;
tests check that they agree with scikit-learn.
"""

import warnings

import numpy as np

from ..classes import NUM_CLASSES

CONFIDENCE = 0.95
RESAMPLES = 2000


def class_counts_along(y_true, y_pred):
    """Per class: true positives, true count and predicted count, along the last axis."""
    classes = np.arange(NUM_CLASSES).reshape(-1, 1)
    is_true = y_true[..., None, :] == classes
    is_pred = y_pred[..., None, :] == classes
    return (is_true & is_pred).sum(-1), is_true.sum(-1), is_pred.sum(-1)


def accuracy(y_true, y_pred):
    """Fraction of images classified correctly, along the last axis."""
    return (np.asarray(y_true) == np.asarray(y_pred)).mean(-1)


def balanced_accuracy(y_true, y_pred):
    """Mean recall over the classes present in y_true (as scikit-learn computes it)."""
    hits, true_count, _ = class_counts_along(np.asarray(y_true), np.asarray(y_pred))
    present = true_count > 0
    recall = np.divide(hits, true_count, out=np.zeros(hits.shape), where=present)
    return recall.sum(-1) / present.sum(-1)


def macro_f1(y_true, y_pred):
    """Mean F1 over all seven classes, 0 for a class never seen nor predicted (zero_division=0)."""
    hits, true_count, pred_count = class_counts_along(np.asarray(y_true), np.asarray(y_pred))
    total = true_count + pred_count
    return np.divide(2 * hits, total, out=np.zeros(hits.shape), where=total > 0).mean(-1)


SCORES = {"accuracy": accuracy, "balanced_accuracy": balanced_accuracy, "macro_f1": macro_f1}


def stratified_resamples(y_true, resamples, seed):
    """(resamples, images) indices redrawing the test images with replacement, class by class."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(y_true == label), size=(resamples, count))
                           for label, count in zip(*np.unique(y_true, return_counts=True))], axis=1)


def bootstrap_interval(statistic, y_true, *predictions, confidence=CONFIDENCE, resamples=RESAMPLES,
                       seed=0):
    """(low, high) percentile interval of statistic(y_true, *predictions) over stratified resamples.

    Resamples where the statistic is undefined (NaN, e.g. a recall with no such case kept) are left out.
    """
    y_true = np.asarray(y_true)
    index = stratified_resamples(y_true, resamples, seed)
    values = statistic(y_true[index], *(np.asarray(p)[index] for p in predictions))
    tail = (1 - confidence) / 2 * 100
    with warnings.catch_warnings():  # all NaN: the interval is (NaN, NaN), said without a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def score_interval(score, y_true, y_pred, **options):
    """Bootstrap interval of one score ("accuracy", "balanced_accuracy" or "macro_f1")."""
    return bootstrap_interval(SCORES[score], y_true, y_pred, **options)


def difference_interval(score, y_true, y_pred_a, y_pred_b, **options):
    """Paired bootstrap interval of score(a) - score(b): both models judged on the same resamples."""
    def difference(truth, pred_a, pred_b):
        return SCORES[score](truth, pred_a) - SCORES[score](truth, pred_b)

    return bootstrap_interval(difference, y_true, y_pred_a, y_pred_b, **options)
