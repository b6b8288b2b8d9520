"""A gate for inputs unlike the training images: the Mahalanobis distance of the penultimate features
to the nearest training class mean, with one shared covariance (Lee et al. 2018).

The covariance is estimated with Ledoit-Wolf shrinkage: a few thousand images estimate a 576- or
960-dimensional covariance poorly, and shrinkage keeps its inverse stable. The threshold is the
distance that refuses a chosen share of the validation lesions.

Before the distance is read, the input itself is checked: a frame whose gray levels barely vary
(a blank photo, a lens cap) holds no lesion and is refused whatever its distance. A mid-gray blank
frame sits near the average dermoscopy image in feature space, so the distance alone lets it pass.
The check works on uint8 gray images (in the exported graph, the crop the model is fed), in
PyTorch, so that the graph (`deployment.contract.DeployableModel`) and notebook 08 share this one
definition.
"""

import numpy as np
import torch
from sklearn.covariance import LedoitWolf

from ..classes import NUM_CLASSES

REFUSE = 0.05  # share of the validation images the threshold refuses
# Standard deviation, in gray levels, below which a frame counts as blank. Lesion photos vary far
# more: of the course split's 1,000 validation images the smallest spread of a model input crop
# (Small, 96 px) is 7.1 gray levels, of all its 5,000 images 5.5; a blank frame has 0, and one
# gray level of sensor noise on it about 0.5.
MIN_CONTRAST = 2.0
# The score a blank frame gets: above any threshold, yet finite so a JSON answer stays valid.
BLANK_SCORE = float(np.finfo(np.float32).max)


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


def contrast(images):
    """Standard deviation of each image's gray levels (N,), of uint8 (N, 1, S, S) images (tensor or array)."""
    pixels = torch.as_tensor(images).float()
    axes = tuple(range(1, pixels.dim()))
    return (pixels - pixels.mean(dim=axes, keepdim=True)).square().mean(dim=axes).sqrt()


def gate_score(distances, images):
    """The gate's score: the distances ((N,) or (N, classes)), or BLANK_SCORE for each frame without contrast."""
    distances = torch.as_tensor(distances)
    blank = (contrast(images) < MIN_CONTRAST).reshape(-1, *[1] * (distances.dim() - 1))
    return torch.where(blank, torch.tensor(BLANK_SCORE, dtype=distances.dtype), distances)
