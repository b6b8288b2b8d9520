"""The per-class table and metrics.json: one recall column (the project report's per-class accuracy)."""

import pytest
from sklearn import metrics

from skinkit.classes import CLASS_CODES
from skinkit.reporting.metrics import classification_table, metrics_report

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
