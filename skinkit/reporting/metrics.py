"""Metrics from predictions: the per-class table, summary scores, confusion matrices."""

import numpy as np
import pandas as pd
from sklearn import metrics

from ..classes import CLASS_CODES, NUM_CLASSES

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
    """Total accuracy, balanced accuracy and macro-F1 (scikit-learn)."""
    return {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(metrics.balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(metrics.f1_score(y_true, y_pred, labels=LABELS, average="macro",
                                           zero_division=0)),
    }


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


def recall_from_confusion(counts):
    """Per-class recall from a confusion matrix (rows = true class); NaN where a class has no images."""
    cm = np.asarray(counts, dtype=float)
    support = cm.sum(-1)
    diagonal = np.diagonal(cm, axis1=-2, axis2=-1)
    return np.divide(diagonal, support, out=np.full(support.shape, np.nan), where=support > 0)


def balanced_accuracy_from_confusion(counts):
    """Mean recall over the classes that have images (as scikit-learn's balanced_accuracy_score)."""
    return np.nanmean(recall_from_confusion(counts), axis=-1)
