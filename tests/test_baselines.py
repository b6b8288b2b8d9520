"""Chance and always-`nv` reference points."""

import pytest

from skinkit.reporting.chance import (CHANCE_BALANCED_ACCURACY, always_majority_accuracy, is_near_chance,
                               likely_causes)


def test_always_nv_accuracy_is_the_share_of_nv():
    assert always_majority_accuracy([36, 60, 102, 15, 97, 670, 20]) == pytest.approx(0.67)
    assert always_majority_accuracy([0] * 7) == 0.0


def test_near_chance():
    assert is_near_chance(CHANCE_BALANCED_ACCURACY)
    assert is_near_chance(0.16)
    assert not is_near_chance(0.43)


def test_likely_causes_name_each_weakness():
    assert likely_causes(True, 3000, 12) == []
    causes = likely_causes(False, 35, 1)
    assert len(causes) == 3 and "ImageNet" in causes[0] and "35" in causes[1] and "1 epoch" in causes[2]
