"""Notebook 6: compare the trained stages, their cost, and the one evaluation on the test split."""

import statistics
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from ..classes import NUM_CLASSES
from ..files import read_json, write_json
from ..metrics import SCORES, classification_table, confusion_matrix, labels_from_confusion
from ..training.loop import to_device
from ..training.models import count_parameters
from ..training.run_folders import read_confusion
from .chance import always_majority_accuracy, chance_reading
from .intervals import CONFIDENCE, difference_interval, score_interval
from .narrative import validation_scores
from .predictions import predicted_labels, true_labels
from .stage_predictions import stage_predictions

FINAL_STAGES = {"MobileNetV3-Large": "large_finetune", "MobileNetV3-Small": "small_finetune"}


def validation_table(runs_root, stages):
    """Validation scores of finished stages (metrics.json, config.json), read against chance."""
    rows = {}
    for stage in stages:
        metrics = read_json(Path(runs_root) / stage / "metrics.json")
        config = read_json(Path(runs_root) / stage / "config.json")
        rows[stage] = {"accuracy": metrics["accuracy"], "balanced_accuracy": metrics["balanced_accuracy"],
                       "macro_f1": metrics["macro_f1"], "best_epoch": metrics["best_epoch"],
                       "pretrained": config["pretrained"],
                       "vs_chance": chance_reading(*validation_scores(Path(runs_root) / stage)[:3])}
    return pd.DataFrame.from_dict(rows, orient="index")


def mflops(model, image_size=224):
    """Forward-pass cost in millions of multiply-adds (torchvision's 'FLOPs' convention)."""
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(torch.zeros(1, 3, image_size, image_size))
    return counter.get_total_flops() / 2 / 1e6


def timings_in_turns_ms(calls, repeats=30, warmup=5):
    """Per name, `repeats` timings (ms) of calling `calls[name]()`, all taking turns after a warm-up."""
    timings = {name: [] for name in calls}
    # Taking turns spreads a busy spell of the machine over every model instead of one.
    for round_ in range(warmup + repeats):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            if round_ >= warmup:
                timings[name].append((time.perf_counter() - started) * 1e3)
    return timings


def latency_samples_ms(models, image_size=224, repeats=30, warmup=5):
    """Per model, `repeats` CPU timings (ms) of a one-image forward pass, in turns after a warm-up."""
    models = {name: to_device(model.eval(), torch.device("cpu")) for name, model in models.items()}
    image = torch.zeros(1, 3, image_size, image_size).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        return timings_in_turns_ms({name: partial(model, image) for name, model in models.items()},
                                   repeats, warmup)


def latency_summary(timings):
    """Median, quartiles and count of a list of timings (ms)."""
    q1, median, q3 = statistics.quantiles(timings, n=4) if len(timings) > 1 else timings * 3
    return {"cpu_latency_ms": median, "cpu_latency_q1_ms": q1, "cpu_latency_q3_ms": q3,
            "timed_runs": len(timings)}


def cost_table(models, repeats=30, warmup=5):
    """Parameters, MFLOPs and CPU latency per image (median, quartiles) of each model ({name: model})."""
    timings = latency_samples_ms(models, repeats=repeats, warmup=warmup)
    return pd.DataFrame.from_dict({
        name: {"parameters_M": count_parameters(model) / 1e6, "MFLOPs": mflops(model),
               **latency_summary(timings[name])}
        for name, model in models.items()}, orient="index")


@dataclass
class TestResults:
    """The one evaluation on the test split: scores with intervals, matrices, reference points."""

    scores: pd.DataFrame   # per model: accuracy, balanced_accuracy, macro_f1 and their _low/_high
    matrices: dict         # per model: confusion matrix (counts)
    difference: tuple      # interval of balanced accuracy, first model minus second
    always_nv_accuracy: float
    test_images: int
    confidence: float


def scores_with_intervals(y_true, y_pred, confidence, seed):
    """Each test score and the bounds of its bootstrap interval."""
    scores = {}
    for score, compute in SCORES.items():
        low, high = score_interval(score, y_true, y_pred, confidence=confidence, seed=seed)
        scores.update({score: float(compute(y_true, y_pred)), f"{score}_low": low, f"{score}_high": high})
    return scores


def test_results(runs_root, data_root, device, out_dir, confidence=CONFIDENCE, seed=0):
    """For scripts, what notebook 6 computes in its cells: both final models scored on the test split.

    The answers come from each stage's predictions_test.csv (predicted once); the scores and
    intervals are also written to `out_dir`/test_metrics.json."""
    tables = {name: stage_predictions(runs_root, stage, data_root, "test", device)
              for name, stage in FINAL_STAGES.items()}
    y_true = true_labels(next(iter(tables.values())))  # the same test images, in the same order, for both
    predictions = {name: predicted_labels(table) for name, table in tables.items()}
    scores = {name: scores_with_intervals(y_true, y_pred, confidence, seed) for name, y_pred in predictions.items()}
    results = TestResults(
        scores=pd.DataFrame.from_dict(scores, orient="index"),
        matrices={name: confusion_matrix(y_true, y_pred) for name, y_pred in predictions.items()},
        difference=difference_interval("balanced_accuracy", y_true, *predictions.values(),
                                       confidence=confidence, seed=seed),
        always_nv_accuracy=always_majority_accuracy(np.bincount(y_true, minlength=NUM_CLASSES)),
        test_images=len(y_true), confidence=confidence)
    write_json(Path(out_dir) / "test_metrics.json", {
        **scores, "balanced_accuracy_difference_interval": list(results.difference),
        "always_nv_accuracy": results.always_nv_accuracy, "confidence": confidence, "test_images": len(y_true)})
    return results


def stage_confusion(runs_root, stage):
    """The validation confusion matrix (counts) saved by a finished stage."""
    return read_confusion(Path(runs_root) / stage / "confusion_matrix.csv")


def per_class_f1(counts):
    """Per-class F1 from a confusion matrix of counts (via scikit-learn on the implied labels)."""
    return classification_table(*labels_from_confusion(counts))["f1"]
