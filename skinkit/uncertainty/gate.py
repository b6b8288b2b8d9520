"""A gate for inputs unlike the training images: the Mahalanobis distance of the penultimate features
to the nearest training class mean, with one shared covariance (Lee et al. 2018).

The covariance is estimated with Ledoit-Wolf shrinkage: a few thousand images estimate a 576- or
960-dimensional covariance poorly, and shrinkage keeps its inverse stable. The threshold is the
distance that refuses a chosen share of the validation lesions.
"""

import numpy as np
from sklearn.covariance import LedoitWolf

from ..classes import NUM_CLASSES

REFUSE = 0.05  # share of the validation images the threshold refuses


def fit_gate(features, labels):
    """(class means (7, D), shared precision matrix (D, D)) of training features (a class without any: all's mean)."""
    features, labels = np.asarray(features, dtype=np.float64), np.asarray(labels)
    means = np.stack([features[labels == k].mean(axis=0) if (labels == k).any() else features.mean(axis=0)
                      for k in range(NUM_CLASSES)])
    return means, LedoitWolf().fit(features - means[labels]).precision_


def mahalanobis(features, means, precision):
    """Squared Mahalanobis distance of each row of `features` to the nearest class mean."""
    # (f - m)' P (f - m) = f'Pf - 2 f'Pm + m'Pm, with f'P computed once for all seven means
    features = np.asarray(features, dtype=np.float64)
    projected = features @ precision
    squared = ((projected * features).sum(axis=1)[:, None] - 2 * projected @ means.T
               + ((means @ precision) * means).sum(axis=1)[None])
    return squared.min(axis=1)


def gate_threshold(scores, refuse=REFUSE):
    """The distance above which `refuse` of these (validation) scores lie: they are refused."""
    return float(np.quantile(scores, 1 - refuse))
