"""Reference points that every score is read against: chance and the always-`nv` classifier.

One rule reads a balanced accuracy against chance in every notebook (02-09): its bootstrap
interval, not a margin around 1/7. "above chance" only when the whole interval lies above 1/7,
"below chance" when it lies wholly below, and otherwise "not clearly above chance" when the
score itself is above 1/7, "at chance" when it is not.
"""

import math

from ..classes import CLASS_CODES, NUM_CLASSES
from ..metrics import balanced_accuracy
from .intervals import CONFIDENCE, score_interval

CHANCE_BALANCED_ACCURACY = 1 / NUM_CLASSES
MAJORITY_CLASS = "nv"
ABOVE_CHANCE = "above chance"
# What each reading means, for a summary that spells it out.
READING_MEANS = {ABOVE_CHANCE: "its whole interval lies above 1/7",
                 "not clearly above chance": "its interval reaches down to 1/7: not shown to beat guessing",
                 "at chance": "this model is no better than guessing",
                 "below chance": "this model does worse than guessing (check that the labels are right)"}
# Float rounding only: a model that answers nv for every image scores 1/7 give or take 1e-16.
ROUNDING = 1e-9


def always_majority_accuracy(support):
    """Accuracy of a model that answers `nv` for every image, given images per class (in class order)."""
    total = sum(support)
    return support[CLASS_CODES.index(MAJORITY_CLASS)] / total if total else 0.0


def side_of_chance(value):
    """1 when a balanced accuracy (or an interval bound) lies above 1/7, -1 below, 0 at it (rounding aside)."""
    if math.isclose(value, CHANCE_BALANCED_ACCURACY, abs_tol=ROUNDING):
        return 0
    return 1 if value > CHANCE_BALANCED_ACCURACY else -1


def chance_reading(balanced_accuracy, low, high):
    """A balanced accuracy and its interval against 1/7: the one chance rule of every notebook.

    Returns 'above chance', 'not clearly above chance', 'at chance' or 'below chance'.
    """
    if side_of_chance(low) > 0:
        return ABOVE_CHANCE
    if side_of_chance(high) < 0:
        return "below chance"
    return "not clearly above chance" if side_of_chance(balanced_accuracy) > 0 else "at chance"


def read_against_chance(y_true, y_pred, confidence=CONFIDENCE, seed=0):
    """(balanced accuracy, interval low, interval high, chance reading) of a model's answers."""
    low, high = score_interval("balanced_accuracy", y_true, y_pred, confidence=confidence, seed=seed)
    score = float(balanced_accuracy(y_true, y_pred))
    return score, low, high, chance_reading(score, low, high)


def not_above_chance(readings):
    """The entries of {name: reading} whose reading is not 'above chance'."""
    return {name: reading for name, reading in readings.items() if reading != ABOVE_CHANCE}


def chance_clause(readings):
    """The readings {name: reading} as one clause, e.g. 'Large is at chance and Small is not clearly above chance'."""
    by_reading = {}
    for name, reading in readings.items():
        by_reading.setdefault(reading, []).append(name)
    return " and ".join(f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'} {reading}"
                        for reading, names in by_reading.items())


def likely_causes(pretrained, train_images, training=()):
    """Plain reasons a result can sit at chance: no ImageNet weights, little data, a shortened recipe.

    `training`: (stage, epochs trained, the recipe's epochs) of the model's stages, earliest first
    (run_folders.epochs_against_recipe); those that trained fewer epochs than the recipe are named.
    """
    causes = []
    if not pretrained:
        causes.append("no ImageNet weights (the model started from random numbers)")
    if train_images < 1000:
        causes.append(f"only {train_images} training images (the bundled sample is for trying the code)")
    return causes + [f"{stage} trained {trained} of the recipe's {recipe} epochs"
                     for stage, trained, recipe in training if recipe is not None and trained < recipe]
