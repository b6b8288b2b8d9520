"""What notebook 08's worked solutions compute beyond the notebook: vector scaling and APS sets.

Everything is read from the saved predictions, as in notebook 08: nothing is trained or written.
"""

import numpy as np
import torch
from torch.nn import functional

from ..uncertainty.temperature import LEARNING_RATE, STEPS, logits_of


def fit_vector_scaling(probabilities, labels, steps=STEPS, learning_rate=LEARNING_RATE):
    """(weights, bias) per class minimising the NLL of softmax(logits x weights + bias): vector scaling."""
    logits, labels = logits_of(probabilities), torch.tensor(np.asarray(labels))
    weights = torch.ones(logits.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(logits.shape[1], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([weights, bias], lr=learning_rate)
    for _ in range(steps):
        optimizer.zero_grad()
        functional.cross_entropy(logits * weights + bias, labels).backward()
        optimizer.step()
    return weights.detach(), bias.detach()


def vector_scaled(probabilities, weights, bias):
    """Softmax probabilities after vector scaling (NumPy)."""
    return (logits_of(probabilities) * weights + bias).softmax(dim=1).numpy()


def aps_class_scores(probabilities):
    """(N, 7) APS scores: per class, the total probability of the classes ranked at or above it (itself included)."""
    probabilities = np.asarray(probabilities)
    order = np.argsort(-probabilities, axis=1, kind="stable")
    cumulative = np.cumsum(np.take_along_axis(probabilities, order, axis=1), axis=1)
    scores = np.empty_like(cumulative)
    np.put_along_axis(scores, order, cumulative, axis=1)
    return scores


def aps_threshold(probabilities, labels, alpha):
    """The ceil((n+1)(1-alpha))-th smallest APS score of the true classes (1.0, every class, when n is too small)."""
    scores = np.sort(aps_class_scores(probabilities)[np.arange(len(labels)), np.asarray(labels)])
    rank = int(np.ceil((len(scores) + 1) * (1 - alpha)))
    return float(scores[rank - 1]) if rank <= len(scores) else 1.0 + 1e-9
