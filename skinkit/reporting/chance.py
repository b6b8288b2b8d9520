"""Reference points that every score is read against: chance and the always-`nv` classifier."""

from ..classes import CLASS_CODES, NUM_CLASSES

CHANCE_BALANCED_ACCURACY = 1 / NUM_CLASSES
MAJORITY_CLASS = "nv"
# A balanced accuracy this close to 1/7 is read as "no better than chance".
NEAR_CHANCE_MARGIN = 0.03


def always_majority_accuracy(support):
    """Accuracy of a model that answers `nv` for every image, given images per class (in class order)."""
    total = sum(support)
    return support[CLASS_CODES.index(MAJORITY_CLASS)] / total if total else 0.0


def is_near_chance(balanced_accuracy, margin=NEAR_CHANCE_MARGIN):
    """True when a balanced accuracy is within `margin` of chance (1/7) or below it."""
    return balanced_accuracy <= CHANCE_BALANCED_ACCURACY + margin


def likely_causes(pretrained, train_images, epochs):
    """Plain reasons a result can sit at chance: no ImageNet weights, little data, few epochs."""
    causes = []
    if not pretrained:
        causes.append("no ImageNet weights (the model started from random numbers)")
    if train_images < 1000:
        causes.append(f"only {train_images} training images (the bundled sample is for trying the code)")
    if epochs < 3:
        causes.append(f"only {epochs} epoch(s)")
    return causes
