"""95 % bootstrap intervals for test scores, redrawing the test images (a stratified bootstrap).

Each resample redraws, with replacement, as many images of each class as the test split holds,
so every resample keeps the split's class mix: balanced accuracy then always averages the same
seven classes (a plain resample can drop a rare class and move the score for no real reason).
The scores are `metrics.SCORES`, which score thousands of resamples at once.
"""

import math
import warnings

import numpy as np

from ..metrics import SCORES

CONFIDENCE = 0.95
RESAMPLES = 2000


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


def with_interval(value, low, high, digits=3, signed=False):
    """'0.431 [0.392, 0.470]' (signed: '+0.012 [-0.020, +0.045]'); 'n/a' for a number that is undefined."""
    form = f"{'+' if signed else ''}.{digits}f"
    if value is None or math.isnan(value):
        return "n/a"
    bounds = "n/a" if math.isnan(low) or math.isnan(high) else f"{low:{form}}, {high:{form}}"
    return f"{value:{form}} [{bounds}]"
