"""Split conformal prediction with the LAC score (Angelopoulos & Bates 2021, section 1).

On a calibration split the score of an image is 1 - the probability of its true class. The
threshold is the ceil((n+1)(1-alpha))-th smallest score; a new image's prediction set holds every
class whose 1 - probability is at most the threshold. On images exchangeable with the calibration
split, the set holds the true class at least 1 - alpha of the time, on average over classes.
"""

import math

import numpy as np

ALPHA = 0.1


def true_class_scores(probabilities, labels):
    """1 - the probability each image gives its true class."""
    probabilities, labels = np.asarray(probabilities), np.asarray(labels)
    return 1 - probabilities[np.arange(len(labels)), labels]


def conformal_threshold(probabilities, labels, alpha=ALPHA):
    """The ceil((n+1)(1-alpha))-th smallest calibration score (1.0, every class, when n is too small)."""
    scores = np.sort(true_class_scores(probabilities, labels))
    rank = math.ceil((len(scores) + 1) * (1 - alpha))
    return float(scores[rank - 1]) if rank <= len(scores) else 1.0


def prediction_sets(probabilities, threshold):
    """(N, 7) booleans: class k is in image n's set when 1 - p[n, k] is at most the threshold."""
    return 1 - np.asarray(probabilities) <= threshold
