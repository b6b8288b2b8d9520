"""What notebook 06's worked solutions compute: latency spread, intervals per setting, the F1 of one class."""

import numpy as np
import pandas as pd

from ..reporting.comparison import latency_samples_ms, latency_summary
from ..reporting.conclusion import NOISY_LATENCY_SPREAD
from ..reporting.intervals import difference_interval, score_interval
from ..reporting.stage_predictions import evaluate_test_split
from ..training.loop import pick_device


def latency_spread(models, repeat_counts, image_size=224):
    """Per number of timed runs: each model's median latency, quartiles and whether the caution calls it rough."""
    rows = []
    for run, repeats in enumerate(repeat_counts, start=1):
        for name, timings in latency_samples_ms(models, image_size, repeats=repeats).items():
            summary = latency_summary(timings)
            spread = (summary["cpu_latency_q3_ms"] - summary["cpu_latency_q1_ms"]) / summary["cpu_latency_ms"]
            rows.append({"run": run, "repeats": repeats, "model": name, **summary, "spread / median": spread,
                         "rough": spread > NOISY_LATENCY_SPREAD})
    return pd.DataFrame(rows).drop(columns="timed_runs")


def test_predictions(models, data_root, image_size, device=None):
    """(y_true, {name: y_pred}) of each model on the test split, the same images in the same order."""
    device = device or pick_device()
    labels = {name: evaluate_test_split(model, data_root, image_size, device) for name, model in models.items()}
    return next(iter(labels.values()))[0], {name: y_pred for name, (_, y_pred) in labels.items()}


def interval_table(y_true, predicted, settings):
    """Balanced-accuracy intervals of each model and of their difference, per (confidence, seed) in `settings`."""
    (first, a), (second, b) = predicted.items()
    rows = []
    for confidence, seed in settings:
        options = {"confidence": confidence, "seed": seed}
        row = {"confidence": confidence, "seed": seed}
        for name, y_pred in predicted.items():
            row[f"{name} low"], row[f"{name} high"] = score_interval("balanced_accuracy", y_true, y_pred, **options)
        row["difference low"], row["difference high"] = difference_interval("balanced_accuracy", y_true, a, b,
                                                                             **options)
        row["separates"] = row["difference low"] > 0 or row["difference high"] < 0
        rows.append(row)
    return pd.DataFrame(rows)


def class_f1(y_true, y_pred, label):
    """F1 of class `label` along the last axis (0 where the class is neither present nor predicted)."""
    hits = ((y_true == label) & (y_pred == label)).sum(axis=-1)
    attempts = (y_true == label).sum(axis=-1) + (y_pred == label).sum(axis=-1)  # 2 TP + FP + FN
    return np.divide(2 * hits, attempts, out=np.zeros(np.shape(hits), dtype=float), where=attempts > 0)
