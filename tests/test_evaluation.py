"""The per-class table and metrics.json: one recall column (the project report's per-class accuracy)."""

import warnings

import numpy as np
import pytest
from sklearn import metrics
from sklearn.metrics import balanced_accuracy_score

from skinkit.classes import CLASS_CODES
from skinkit.metrics import (
    balanced_accuracy_from_confusion,
    classification_table,
    confusion_matrix,
    metrics_report,
    recall_from_confusion,
    summary_metrics,
)

Y_TRUE = [0, 0, 1, 1, 2, 5, 5, 5, 6]
Y_PRED = [0, 1, 1, 1, 5, 5, 5, 0, 6]


def test_per_class_table_has_recall_once_and_no_duplicate_accuracy_column():
    table = classification_table(Y_TRUE, Y_PRED)
    assert list(table.columns) == ["precision", "recall", "f1", "support"]
    assert list(table.index) == list(CLASS_CODES)
    expected = metrics.recall_score(Y_TRUE, Y_PRED, labels=range(7), average=None, zero_division=0)
    assert table["recall"].tolist() == pytest.approx(expected.tolist())


def test_metrics_report_per_class_entries_match_the_table():
    per_class = metrics_report(Y_TRUE, Y_PRED)["per_class"]
    assert set(per_class["nv"]) == {"precision", "recall", "f1", "support"}
    assert per_class["nv"]["recall"] == pytest.approx(2 / 3) and per_class["nv"]["support"] == 3


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")  # the case under test
def test_balanced_accuracy_from_confusion_matches_scikit_learn():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 6, 300)  # class 6 absent: skipped, as scikit-learn does
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 7, 300))
    counts = confusion_matrix(y_true, y_pred)
    assert balanced_accuracy_from_confusion(counts) == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert np.isnan(recall_from_confusion(counts)[6])


@pytest.mark.parametrize("y_true, y_pred", [(Y_TRUE, Y_PRED), ([0, 0, 3, 3, 3], [0, 6, 3, 0, 6])],
                         ids=["several classes absent", "a class predicted but never true"])
def test_summary_metrics_match_scikit_learn(y_true, y_pred):
    with warnings.catch_warnings():  # scikit-learn notes a class predicted but never true
        warnings.simplefilter("ignore", UserWarning)
        expected = {"accuracy": metrics.accuracy_score(y_true, y_pred),
                    "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
                    "macro_f1": metrics.f1_score(y_true, y_pred, labels=range(7), average="macro",
                                                 zero_division=0)}
    assert summary_metrics(y_true, y_pred) == pytest.approx(expected)
