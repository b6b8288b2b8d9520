"""Metrics from predictions: the per-class table, summary scores, confusion matrices.

Recall and balanced accuracy have one numpy core (`recall_of`), used from labels (summary_metrics,
the bootstrap in intervals.py) and from a saved confusion matrix alike.
"""

import numpy as np
import pandas as pd
from sklearn import metrics

from .classes import CLASS_CODES, NUM_CLASSES

LABELS = list(range(NUM_CLASSES))


def classification_table(y_true, y_pred):
    """Per-class precision, recall (what the project report calls per-class accuracy), F1, support."""
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=LABELS, zero_division=0)
    return pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support},
        index=pd.Index(CLASS_CODES, name="class"),
    )


def summary_metrics(y_true, y_pred):
    """Total accuracy, balanced accuracy and macro-F1 (numpy scores; tests check them against scikit-learn)."""
    return {name: float(score(y_true, y_pred)) for name, score in SCORES.items()}


def confusion_matrix(y_true, y_pred, normalize=None):
    """7x7 confusion matrix as a DataFrame (rows = true class); normalize="true" for row fractions."""
    cm = metrics.confusion_matrix(y_true, y_pred, labels=LABELS, normalize=normalize)
    frame = pd.DataFrame(cm, index=list(CLASS_CODES), columns=list(CLASS_CODES))
    frame.index.name, frame.columns.name = "true", "predicted"
    return frame


def metrics_report(y_true, y_pred):
    """Everything metrics.json holds: summary scores plus per-class precision/recall/F1/support."""
    table = classification_table(y_true, y_pred)
    per_class = {code: {k: (int(v) if k == "support" else float(v)) for k, v in row.items()}
                 for code, row in table.iterrows()}
    return {**summary_metrics(y_true, y_pred), "per_class": per_class}


def labels_from_confusion(counts):
    """(y_true, y_pred) arrays that give the confusion matrix of `counts` (rows = true class)."""
    cm = counts.to_numpy()
    true, predicted = np.nonzero(cm)
    repeats = cm[true, predicted]
    return np.repeat(true, repeats), np.repeat(predicted, repeats)


def recall_of(hits, support):
    """Per-class recall hits / support; NaN where a class has no images (skipped by balanced accuracy)."""
    support = np.asarray(support, dtype=float)
    return np.divide(hits, support, out=np.full(support.shape, np.nan), where=support > 0)


def recall_from_confusion(counts):
    """Per-class recall from a confusion matrix (rows = true class); NaN where a class has no images."""
    cm = np.asarray(counts, dtype=float)
    return recall_of(np.diagonal(cm, axis1=-2, axis2=-1), cm.sum(-1))


def balanced_accuracy_from_confusion(counts):
    """Mean recall over the classes that have images (as scikit-learn's balanced_accuracy_score)."""
    return np.nanmean(recall_from_confusion(counts), axis=-1)


# The scores below work along the last axis, so that the bootstrap (intervals.py) scores thousands
# of resampled label arrays at once; on one pair of 1-D arrays they are summary_metrics' scores.
def class_counts_along(y_true, y_pred):
    """Per class: true positives, true count and predicted count, along the last axis."""
    classes = np.arange(NUM_CLASSES).reshape(-1, 1)
    is_true = np.asarray(y_true)[..., None, :] == classes
    is_pred = np.asarray(y_pred)[..., None, :] == classes
    return (is_true & is_pred).sum(-1), is_true.sum(-1), is_pred.sum(-1)


def accuracy(y_true, y_pred):
    """Fraction of images classified correctly, along the last axis."""
    return (np.asarray(y_true) == np.asarray(y_pred)).mean(-1)


def balanced_accuracy(y_true, y_pred):
    """Mean recall over the classes present in y_true (as scikit-learn computes it), along the last axis."""
    hits, true_count, _ = class_counts_along(y_true, y_pred)
    return np.nanmean(recall_of(hits, true_count), axis=-1)


def macro_f1(y_true, y_pred):
    """Mean F1 over all seven classes, 0 for a class never seen nor predicted (zero_division=0)."""
    hits, true_count, pred_count = class_counts_along(y_true, y_pred)
    total = true_count + pred_count
    return np.divide(2 * hits, total, out=np.zeros(hits.shape), where=total > 0).mean(-1)


SCORES = {"accuracy": accuracy, "balanced_accuracy": balanced_accuracy, "macro_f1": macro_f1}
