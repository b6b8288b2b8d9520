"""Temperature scaling (Guo et al. 2017): one number T divides the logits, fitted on validation.

T minimises the negative log-likelihood of the validation labels; it never changes the predicted
class. Saved probabilities stand in for logits: log p differs from the logits by one constant
per image, which softmax ignores.
"""

import numpy as np
import torch
from torch.nn import functional

STEPS, LEARNING_RATE = 300, 0.05
SMALLEST_PROBABILITY = 1e-12  # a saved 0 stands for anything below this


def logits_of(probabilities):
    """Logits (float64 tensor) that give these softmax probabilities."""
    return torch.tensor(np.asarray(probabilities), dtype=torch.float64).clamp_min(SMALLEST_PROBABILITY).log()


def fit_temperature(probabilities, labels, steps=STEPS, learning_rate=LEARNING_RATE):
    """The T minimising the NLL of softmax(logits / T) on these (validation) labels: Adam on log T."""
    logits, labels = logits_of(probabilities), torch.tensor(np.asarray(labels))
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)  # T = exp(log_t) stays positive
    optimizer = torch.optim.Adam([log_t], lr=learning_rate)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = functional.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        optimizer.step()
    return log_t.exp().item()


def scaled(probabilities, temperature):
    """Softmax probabilities after dividing the logits by `temperature` (NumPy, float64)."""
    return (logits_of(probabilities) / temperature).softmax(dim=1).numpy()
