"""The checks export.json records: ONNX against PyTorch, int8 against fp32, file sizes and latency."""

from contextlib import contextmanager
from functools import partial

import numpy as np
import torch

from ..reporting.chance import read_against_chance
from ..reporting.comparison import latency_summary, timings_in_turns_ms
from ..reporting.intervals import CONFIDENCE, difference_interval
from .runtime import OnnxClassifier, probabilities

LATENCY_THREADS = 1


def onnx_vs_pytorch(pytorch, onnx):
    """Largest probability difference and whether every predicted class is the same (probabilities N x 7)."""
    same = pytorch.argmax(1) == onnx.argmax(1)
    return {"images": len(same), "max_probability_difference": float(np.abs(pytorch - onnx).max()),
            "same_predicted_class": bool(same.all()), "different_classes": int((~same).sum())}


def scored(y_true, y_pred, confidence, seed):
    """Balanced accuracy of `y_pred` and the bounds of its bootstrap interval."""
    score, low, high, _ = read_against_chance(y_true, y_pred, confidence, seed)
    return {"balanced_accuracy": score, "low": low, "high": high}


def int8_vs_fp32(y_true, fp32, int8, confidence=CONFIDENCE, seed=0):
    """Share of images where int8 keeps fp32's class, both balanced accuracies, and the paired change."""
    fp32_pred, int8_pred = fp32.argmax(1), int8.argmax(1)
    low, high = difference_interval("balanced_accuracy", y_true, int8_pred, fp32_pred,
                                    confidence=confidence, seed=seed)
    first, second = scored(y_true, fp32_pred, confidence, seed), scored(y_true, int8_pred, confidence, seed)
    return {"images": len(y_true), "same_class_share": float(np.mean(fp32_pred == int8_pred)),
            "fp32_classes_predicted": int(len(np.unique(fp32_pred))),
            "fp32": first, "int8": second, "confidence": confidence,
            "balanced_accuracy_change": second["balanced_accuracy"] - first["balanced_accuracy"],
            "change_low": low, "change_high": high}


def one_level_steadiness(classifier, images, scores, seed=0):
    """Share of `images` whose class stays the same when each pixel moves by at most one gray level.

    8-bit rounding inside the int8 file is a change of this order, so a model that is not steady
    here cannot have an int8 copy that keeps its class much more often.
    """
    moved = np.asarray(images, dtype=np.int16) + np.random.default_rng(seed).integers(-1, 2, np.shape(images))
    nudged = probabilities(classifier, np.clip(moved, 0, 255).astype(np.uint8))
    return float(np.mean(nudged.argmax(1) == scores.argmax(1)))


@contextmanager
def torch_threads(count):
    """Run a block with PyTorch using `count` CPU threads."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def latency(classifiers, image, repeats=30, warmup=5):
    """Batch-1 latency per classifier (median, quartiles, runs) on one CPU thread, timed in turns on `image`.

    One thread, like one core of a phone: on a shared machine a second thread mostly waits for
    the other programs, which made PyTorch's timings 20x slower and erratic here.
    """
    with torch_threads(LATENCY_THREADS):
        timings = timings_in_turns_ms({name: partial(classify, image) for name, classify in classifiers.items()},
                                      repeats, warmup)
    return {name: latency_summary(values) for name, values in timings.items()}


def file_sizes(fp32_path, int8_path):
    """Bytes of both files and their ratio."""
    fp32, int8 = fp32_path.stat().st_size, int8_path.stat().st_size
    return {"fp32_bytes": fp32, "int8_bytes": int8, "int8_to_fp32": int8 / fp32}


def measure(pytorch, fp32, int8, images, y_true, repeats=30, seed=0):
    """Every check of one export on the validation `images` (uint8 model inputs) and labels `y_true`."""
    scores = {name: probabilities(model, images) for name, model in
              {"pytorch": pytorch, "fp32": fp32, "int8": int8}.items()}
    return {"onnx_vs_pytorch": onnx_vs_pytorch(scores["pytorch"], scores["fp32"]),
            "int8_vs_fp32": int8_vs_fp32(np.asarray(y_true), scores["fp32"], scores["int8"], seed=seed),
            "fp32_one_level_steadiness": one_level_steadiness(fp32, images, scores["fp32"], seed),
            "files": file_sizes(fp32.path, int8.path),
            "latency_threads": LATENCY_THREADS,
            "latency_ms": latency({"pytorch_eager": pytorch,
                                   "onnxruntime_fp32": OnnxClassifier(fp32.path, LATENCY_THREADS),
                                   "onnxruntime_int8": OnnxClassifier(int8.path, LATENCY_THREADS)},
                                  images[:1], repeats)}
