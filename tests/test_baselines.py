"""Chance and always-`nv` reference points, and the one rule that reads a score against chance."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from skinkit.classes import CLASS_CODES
from skinkit.reporting.chance import (
    always_majority_accuracy,
    chance_clause,
    chance_reading,
    likely_causes,
    read_against_chance,
)

NV = CLASS_CODES.index("nv")


def test_always_nv_accuracy_is_the_share_of_nv():
    assert always_majority_accuracy([36, 60, 102, 15, 97, 670, 20]) == pytest.approx(0.67)
    assert always_majority_accuracy([0] * 7) == 0.0


def test_a_model_that_answers_nv_for_every_image_is_at_chance():
    y_true = np.repeat(np.arange(7), [36, 60, 102, 15, 97, 670, 20])  # the course's test mix
    score, low, high, reading = read_against_chance(y_true, np.full(len(y_true), NV))
    # one class recalled fully, six never: 1/7 in every resample, as scikit-learn scores it
    assert score == pytest.approx(balanced_accuracy_score(y_true, np.full(len(y_true), NV)))
    assert (low, high) == pytest.approx((1 / 7, 1 / 7)) and reading == "at chance"


def test_a_perfect_model_is_above_chance_and_a_model_always_wrong_is_below():
    y_true = np.repeat(np.arange(7), 20)
    assert read_against_chance(y_true, y_true)[3] == "above chance"
    assert read_against_chance(y_true, (y_true + 1) % 7)[3] == "below chance"  # balanced accuracy 0


def test_a_score_above_chance_whose_interval_reaches_it_is_not_clearly_above():
    # 1 of 4 images per class right: 0.25, but a resample can hold no right answer for most classes
    y_true = np.repeat(np.arange(7), 4)
    y_pred = np.where(np.arange(len(y_true)) % 4 == 0, y_true, (y_true + 1) % 7)
    score, low, high, reading = read_against_chance(y_true, y_pred)
    assert score == pytest.approx(0.25) and low <= 1 / 7 < score <= high
    assert reading == "not clearly above chance"


@pytest.mark.parametrize("score, low, high, reading", [
    (0.17, 0.16, 0.18, "above chance"),  # within 0.03 of 1/7, but the whole interval lies above it
    (0.30, 0.13, 0.45, "not clearly above chance"),
    (0.14, 0.10, 0.19, "at chance"),
    (0.10, 0.08, 0.12, "below chance"),
    (1 / 7 + 1e-16, 1 / 7 + 1e-16, 1 / 7 + 2e-16, "at chance")])  # float rounding is not a result
def test_the_interval_decides_not_a_margin_around_chance(score, low, high, reading):
    assert chance_reading(score, low, high) == reading


def test_the_models_not_above_chance_are_named_with_their_reading():
    clause = chance_clause({"Large": "at chance", "Small": "not clearly above chance"})
    assert clause.index("Large") < clause.index("at chance") < clause.index("Small") < clause.index("not clearly")
    shared = chance_clause({"Large": "at chance", "Small": "at chance"})
    assert shared.count("at chance") == 1 and "Large" in shared and "Small" in shared  # one reading, said once


def test_likely_causes_name_each_weakness():
    assert likely_causes(True, 3000, [("small_frozen", 15, 15), ("small_finetune", 6, 6)]) == []
    causes = likely_causes(False, 35, [("large_frozen", 4, 12), ("large_finetune", 6, 6), ("custom", 1, None)])
    assert len(causes) == 3  # no ImageNet weights, 35 training images, and the one stage cut short
    assert "35" in causes[1] and "large_frozen" in causes[2] and not any("large_finetune" in c for c in causes)
    assert len(likely_causes(True, 999, [])) == 1 and likely_causes(True, 1000, []) == []
