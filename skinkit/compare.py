"""Notebook 6: compare the trained stages, their cost, and the one evaluation on the test split."""

import statistics
import time
from pathlib import Path

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from .augment import BatchAugment
from .data import SkinLesionDataset
from .evaluation import classification_table, confusion_matrix, summary_metrics
from .loaders import make_loader
from .models import count_parameters
from .runs import read_json, save_figure, write_csv, write_json
from .training import predict_labels, to_device
from .plots import plot_confusion_matrices

FINAL_STAGES = {"MobileNetV3-Large": "large_finetune", "MobileNetV3-Small": "small_finetune"}


def validation_table(runs_root, stages):
    """Validation scores of finished stages (from their metrics.json and config.json)."""
    rows = {}
    for stage in stages:
        metrics = read_json(Path(runs_root) / stage / "metrics.json")
        config = read_json(Path(runs_root) / stage / "config.json")
        rows[stage] = {"accuracy": metrics["accuracy"], "balanced_accuracy": metrics["balanced_accuracy"],
                       "macro_f1": metrics["macro_f1"], "best_epoch": metrics["best_epoch"],
                       "pretrained": config["pretrained"]}
    return pd.DataFrame.from_dict(rows, orient="index")


def mflops(model, image_size=224):
    """Forward-pass cost in millions of multiply-adds (torchvision's 'FLOPs' convention)."""
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(torch.zeros(1, 3, image_size, image_size))
    return counter.get_total_flops() / 2 / 1e6


def cpu_latency_ms(model, image_size=224, repeats=20):
    """Median CPU time to classify one image (batch of 1, channels_last, inference mode)."""
    model = to_device(model.eval(), torch.device("cpu"))
    image = torch.zeros(1, 3, image_size, image_size).contiguous(memory_format=torch.channels_last)
    timings = []
    with torch.inference_mode():
        for _ in range(repeats + 3):
            started = time.perf_counter()
            model(image)
            timings.append((time.perf_counter() - started) * 1e3)
    return statistics.median(timings[3:])


def cost_table(models, repeats=20):
    """Parameters, MFLOPs and CPU latency per image of each model ({name: model})."""
    return pd.DataFrame.from_dict({
        name: {"parameters_M": count_parameters(model) / 1e6, "MFLOPs": mflops(model),
               "cpu_latency_ms": cpu_latency_ms(model, repeats=repeats)}
        for name, model in models.items()}, orient="index")


def evaluate_test_split(model, data_root, image_size, device):
    """(y_true, y_pred) of `model` on the held-out test split."""
    test_set = SkinLesionDataset(Path(data_root) / "test")
    loader = make_loader(test_set, BatchAugment(model.architecture, image_size, train=False), 25,
                         device, num_workers=0)
    return predict_labels(to_device(model, device), loader, device)


def test_results(models, data_root, image_size, device, out_dir):
    """Evaluate each final model once on the test split; write and return scores and matrices."""
    scores, matrices = {}, {}
    for name, model in models.items():
        y_true, y_pred = evaluate_test_split(model, data_root, image_size, device)
        scores[name], matrices[name] = summary_metrics(y_true, y_pred), confusion_matrix(y_true, y_pred)
        slug = FINAL_STAGES[name]
        write_csv(Path(out_dir) / f"test_confusion_{slug}.csv", matrices[name], index_label="true")
        save_figure(Path(out_dir) / f"test_confusion_{slug}.png",
                    plot_confusion_matrices(matrices[name], title=f"{name} (test)"))
    write_json(Path(out_dir) / "test_metrics.json", scores)
    return pd.DataFrame.from_dict(scores, orient="index"), matrices


def stage_confusion(runs_root, stage):
    """The validation confusion matrix (counts) saved by a finished stage."""
    frame = pd.read_csv(Path(runs_root) / stage / "confusion_matrix.csv", index_col="true")
    frame.columns.name = "predicted"
    return frame


def per_class_f1(counts):
    """Per-class F1 from a confusion matrix of counts (via scikit-learn on the implied labels)."""
    cm = counts.to_numpy()
    pairs = [(t, p) for t in range(len(cm)) for p in range(len(cm)) for _ in range(int(cm[t, p]))]
    y_true, y_pred = zip(*pairs) if pairs else ((), ())
    return classification_table(list(y_true), list(y_pred))["f1"]


def summary_table(runs_root, costs, test_scores):
    """One row per final model: validation and test scores, cost, and whether ImageNet weights were used."""
    validation = validation_table(runs_root, FINAL_STAGES.values())
    validation.index = list(FINAL_STAGES)
    scores = ["accuracy", "balanced_accuracy", "macro_f1"]
    return pd.concat([validation[scores].add_prefix("val_"), test_scores[scores].add_prefix("test_"),
                      costs, validation[["pretrained"]]], axis=1)


def conclusion(table):
    """A short conclusion whose every number comes from the comparison table."""
    large, small = table.loc["MobileNetV3-Large"], table.loc["MobileNetV3-Small"]
    large_score, small_score = large["test_balanced_accuracy"], small["test_balanced_accuracy"]
    verdict = ("both models score the same" if large_score == small_score else
               f"MobileNetV3-{'Large' if large_score > small_score else 'Small'} scores higher")
    lines = [
        f"On the held-out test split {verdict}: balanced accuracy "
        f"{large_score:.3f} (Large) vs {small_score:.3f} (Small), "
        f"macro-F1 {large['test_macro_f1']:.3f} vs {small['test_macro_f1']:.3f}.",
        f"Small needs {small['MFLOPs']:.0f} vs {large['MFLOPs']:.0f} MFLOPs "
        f"({large['MFLOPs'] / small['MFLOPs']:.1f}x fewer), {small['parameters_M']:.2f}M vs "
        f"{large['parameters_M']:.2f}M parameters, and classifies an image in "
        f"{small['cpu_latency_ms']:.1f} ms vs {large['cpu_latency_ms']:.1f} ms on this CPU.",
    ]
    if not (table["pretrained"].all()):
        lines.append("Caution: at least one model was trained WITHOUT ImageNet weights "
                     "(pretrained: false), so this is not a transfer-learning result.")
    return "\n".join(lines)
