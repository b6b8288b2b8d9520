"""Calibration: when a model says 0.9, is it right 9 times in 10? (Guo et al. 2017)

Top-label confidence is the highest softmax probability. The expected calibration error (ECE)
bins it into 15 equal-width bins and averages |accuracy - confidence| over the bins, weighted by
their share of the images; torchmetrics computes it. Temperature scaling divides the logits by
one number T, fitted by minimising the negative log-likelihood on validation only: T > 1
softens over-confident probabilities, T < 1 sharpens under-confident ones, and the predicted
class never changes.
"""

import numpy as np
import pandas as pd
import torch
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from torchmetrics.functional.classification import multiclass_calibration_error

from ..classes import NUM_CLASSES

BINS = 15
# Temperatures searched: far wider than any trained network needs (Guo et al. report 1-3).
TEMPERATURE_RANGE = (0.05, 20.0)
# Saved probabilities come from float32 softmax; a 0 there stands for anything below this.
SMALLEST_PROBABILITY = np.finfo(np.float32).tiny


def expected_calibration_error(probabilities, y_true, bins=BINS):
    """Top-label ECE (L1, `bins` equal-width bins) of softmax `probabilities` (N, 7), by torchmetrics."""
    return float(multiclass_calibration_error(torch.tensor(np.asarray(probabilities), dtype=torch.float64),
                                              torch.tensor(np.asarray(y_true)), num_classes=NUM_CLASSES,
                                              n_bins=bins, norm="l1"))


def reliability_table(probabilities, y_true, bins=BINS):
    """Per equal-width confidence bin: its range, image count, mean confidence and accuracy (NaN if empty)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(y_true)
    index = np.minimum((confidence * bins).astype(int), bins - 1)  # a confidence of exactly 1 joins the top bin
    frame = pd.DataFrame({"bin": index, "confidence": confidence, "accuracy": correct})
    table = frame.groupby("bin").agg(count=("accuracy", "size"), confidence=("confidence", "mean"),
                                     accuracy=("accuracy", "mean")).reindex(range(bins))
    table["count"] = table["count"].fillna(0).astype(int)
    edges = np.linspace(0, 1, bins + 1)
    return table.assign(low=edges[:-1], high=edges[1:])[["low", "high", "count", "confidence", "accuracy"]]


def logits_of(probabilities):
    """Logits that give these probabilities (log p, up to one constant per image, which softmax ignores).

    Dividing them by T is therefore exactly temperature scaling."""
    return np.log(np.clip(probabilities, SMALLEST_PROBABILITY, None))


def temperature_scaled(probabilities, temperature):
    """Softmax probabilities after dividing the logits by `temperature`."""
    return softmax(logits_of(probabilities) / temperature, axis=1)


def negative_log_likelihood(probabilities, y_true, temperature=1.0):
    """Mean -log p(true class) after temperature scaling (the loss temperature scaling minimises)."""
    log_p = log_softmax(logits_of(probabilities) / temperature, axis=1)
    return float(-log_p[np.arange(len(log_p)), np.asarray(y_true)].mean())


def fit_temperature(probabilities, y_true):
    """The temperature minimising the negative log-likelihood of `y_true` (fit on validation only).

    The likelihood is convex in 1/T, so a bounded one-dimensional search finds its one minimum.
    """
    low, high = np.log(TEMPERATURE_RANGE)
    result = minimize_scalar(lambda log_t: negative_log_likelihood(probabilities, y_true, np.exp(log_t)),
                             bounds=(low, high), method="bounded", options={"xatol": 1e-6})
    return float(np.exp(result.x))
