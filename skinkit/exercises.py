"""What the worked solutions (notebooks/solutions/) compute: short experiments on finished runs.

The solutions answer the "Try it yourself" exercises in seconds on the bundled sample: they
read the run folders the course notebooks wrote, take a few optimizer steps from a stage's
starting point, or train one changed recipe into a folder of its own
(`<runs>/exercises/<name>/`), never into a course notebook's run folder.
"""

import copy
import dataclasses
import itertools
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .classes import CLASS_CODES, NUM_CLASSES
from .data.dataset import SkinLesionDataset
from .data.loaders import stage_loaders
from .errors import KitError
from .reporting.comparison import FINAL_STAGES, latency_samples_ms, latency_summary
from .reporting.conclusion import NOISY_LATENCY_SPREAD
from .reporting.gradcam import layer_gradcam, model_inputs, randomised_copy, rank_correlation, with_confidence
from .reporting.stage_predictions import evaluate_test_split, stage_predictions
from .reporting.intervals import difference_interval, score_interval
from .reporting.metrics import summary_metrics
from .reporting.narrative import paragraph
from .training.loop import (batch_to_device, kept_epoch, loss_and_optimizer, pick_device, predict_labels,
                            seed_everything, to_device)
from .training.recipes import SELECTION_RULES
from .files import read_json
from .training.stage import load_finished, load_stage_model, require_stage, run_stage, stage_model


class MissingExplanations(KitError, RuntimeError):
    """Notebook 7 has not written explanations.csv into the run folder."""

    title = "Run notebook 07 first"


def finished_stage(runs_root, stage):
    """A course notebook's finished stage, read from its run folder (nothing is trained or written)."""
    run_dir = require_stage(runs_root, stage)
    return load_finished(run_dir, read_json(run_dir / "config.json"))


def rule_table(history):
    """Per selection rule, the epoch it keeps (from history.csv) and that epoch's validation scores."""
    rows = {}
    for rule in SELECTION_RULES:
        epoch = kept_epoch(history[f"val_{rule}"].tolist(), history["train_loss"].tolist())
        rows[rule] = {"kept epoch": epoch + 1, "val accuracy": history["val_accuracy"].iat[epoch],
                      "val balanced accuracy": history["val_balanced_accuracy"].iat[epoch]}
    return pd.DataFrame.from_dict(rows, orient="index")


def always_nv_scores(support):
    """Accuracy, balanced accuracy and macro-F1 (scikit-learn) of answering nv for every image."""
    y_true = np.repeat(np.arange(NUM_CLASSES), support)
    return summary_metrics(y_true, np.full(len(y_true), CLASS_CODES.index("nv")))


def oversampling_shares(counts, repeats):
    """Per class: images, share of an epoch before and after repeating them, and how much the share grew."""
    frame = pd.DataFrame({"images": list(counts), "repeat": list(repeats)}, index=list(CLASS_CODES))
    frame["after"] = frame["images"] * frame["repeat"]
    frame["share before"] = frame["images"] / frame["images"].sum()
    frame["share after"] = frame["after"] / frame["after"].sum()
    frame["share grew x"] = frame["share after"] / frame["share before"]
    return frame


def loss_shares(counts, repeats, class_weights):
    """Each class's share of an epoch's weighted loss (images x repeats x weight), with and without weights."""
    shown = pd.Series(np.asarray(counts) * np.asarray(repeats), index=list(CLASS_CODES), dtype=float)
    weighted = shown * np.asarray(class_weights, dtype=float)
    return pd.DataFrame({"with the weights": weighted / weighted.sum(), "all weights 1": shown / shown.sum()})


def variant_run(settings, name, **overrides):
    """Train this notebook's stage with `overrides` into <runs>/exercises/<name>/, with the course run's weights.

    Only stages that start from ImageNet (or random) weights: a fine-tuning stage would need its
    starting checkpoint inside the variant's folder.
    """
    recipe = dataclasses.replace(settings.recipe, **overrides)
    if recipe.init_from:
        raise ValueError(f"{recipe.stage} starts from {recipe.init_from}: probe it with learning_rate_probe")
    course = read_json(require_stage(settings.runs_root, recipe.stage) / "config.json")
    return run_stage(recipe, settings.data_root, Path(settings.runs_root) / "exercises" / name, seed=settings.seed,
                     image_size=settings.image_size, pretrained=course["pretrained"], resume=settings.resume)


def recall_table(results):
    """Validation recall per class of several finished stages ({label: StageResult}), side by side."""
    return pd.DataFrame({label: result.table["recall"] for label, result in results.items()})


def relative_change(before, after):
    """How far parameters moved: the norm of the change over the norm of the start."""
    before, after = list(before), list(after)
    start = torch.cat([p.detach().flatten().float().cpu() for p in before])
    moved = torch.cat([(b.detach().cpu() - a.detach().cpu()).flatten().float() for a, b in zip(before, after)])
    return float(moved.norm() / start.norm())


def probe_one_rate(start, recipe, rate, train_loader, val_loader, steps, device):
    """`steps` Adam steps at `rate` from a copy of `start`: the loss of each step's batch, the moves, the score.

    The validation score is left out when `val_loader` is None.
    """
    model = to_device(copy.deepcopy(start), device).train()
    criterion, optimizer = loss_and_optimizer(dataclasses.replace(recipe, lr=rate), model, device)
    losses = []
    for images, labels in itertools.islice(itertools.cycle(train_loader), steps):
        images, labels = batch_to_device(images, labels, device)
        loss = criterion(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    row = {f"step {i + 1} loss": value for i, value in enumerate(losses)}
    row["base moved"] = relative_change(start.features.parameters(), model.features.parameters())
    row["head moved"] = relative_change(start.classifier.parameters(), model.classifier.parameters())
    if val_loader is not None:
        row["val balanced accuracy"] = summary_metrics(*predict_labels(model, val_loader, device))["balanced_accuracy"]
    return row


def learning_rate_probe(settings, rates, steps=3, batch_size=None, validate=False, device=None):
    """Per learning rate, `steps` Adam steps from where this notebook's stage starts (same batches each time).

    `batch_size`: images per step (default: the recipe's); Adam's step per weight hardly depends on it.
    `validate`: also score the validation split after the steps.
    """
    device = device or pick_device()
    recipe = dataclasses.replace(settings.recipe, train_batch_size=batch_size or settings.recipe.train_batch_size)
    course = read_json(require_stage(settings.runs_root, recipe.stage) / "config.json")
    seed_everything(settings.seed)
    start = stage_model(recipe, settings.runs_root, course["pretrained"]).cpu()
    train_set, val_set = (SkinLesionDataset(Path(settings.data_root) / split) for split in ("train", "val"))
    rows = {}
    for rate in rates:
        seed_everything(settings.seed)  # the same batches, augmentations and dropout for every rate
        loaders = stage_loaders(train_set, val_set, recipe.model, settings.image_size, device, recipe.train_batch_size,
                                recipe.val_batch_size, recipe.oversampling, torch.Generator().manual_seed(settings.seed))
        train_loader, val_loader = loaders
        rows[rate] = probe_one_rate(start, recipe, rate, train_loader, val_loader if validate else None, steps, device)
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "learning rate"
    return frame


def latency_spread(models, repeat_counts, image_size=224):
    """For each number of timed runs: each model's median latency, quartiles and whether the conclusion calls it rough."""
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


def mistake_pairs(table, count):
    """How often each 'true -> predicted' pair occurs among the `count` most confident mistakes."""
    wrong = table[table["true"] != table["predicted"]].nlargest(count, "confidence")
    return (wrong["true"] + " -> " + wrong["predicted"]).value_counts()


def explained_rows(runs_root):
    """Notebook 7's explanations.csv (which images it explained, for which class), or a one-line error."""
    path = Path(runs_root) / "explain" / "explanations.csv"
    if not path.is_file():
        raise MissingExplanations(f"No {path}. Run notebooks/07_explaining_predictions.ipynb first "
                                  "(with the same data and run folder).")
    return pd.read_csv(path)


def median_correlation(maps, others):
    """Median Spearman rank correlation of paired maps (constant maps left out)."""
    values = [rank_correlation(a, b) for a, b in zip(maps.cpu(), others.cpu())]
    kept = [value for value in values if not np.isnan(value)]
    return statistics.median(kept) if kept else float("nan")


def seed_check(runs_root, data_root, image_size, seeds=(0, 1), device=None):
    """Per fine-tuned model, on notebook 7's images: trained vs each random draw, and draw vs draw (medians)."""
    device = device or pick_device()
    rows, dataset = explained_rows(runs_root), SkinLesionDataset(Path(data_root) / "val")
    result = {}
    for name, stage in FINAL_STAGES.items():
        model = to_device(load_stage_model(runs_root, stage)[0], device)
        chosen = rows[rows["stage"] == stage]
        positions = pd.Index(dataset.img_labels["file"]).get_indexer(chosen["file"])
        inputs = model_inputs(model, torch.stack([dataset.image(i) for i in positions]), image_size)
        targets = [CLASS_CODES.index(code) for code in chosen["predicted"]]
        trained = layer_gradcam(model, inputs, targets)
        draws = [layer_gradcam(randomised_copy(model, seed), inputs, targets) for seed in seeds]
        result[name] = {**{f"trained vs random (seed {seed})": median_correlation(trained, draw)
                           for seed, draw in zip(seeds, draws)},
                        f"random (seed {seeds[0]}) vs random (seed {seeds[1]})": median_correlation(*draws),
                        "images": len(chosen)}
    return pd.DataFrame.from_dict(result, orient="index")


def validation_predictions(runs_root, data_root):
    """{model name: one row per validation image (true, predicted, confidence)} of both fine-tuned models."""
    return {name: with_confidence(stage_predictions(runs_root, stage, data_root, "val"))
            for name, stage in FINAL_STAGES.items()}


def curve_reading(history):
    """The learning curves in words: where validation balanced accuracy peaked and what the loss did after."""
    epochs = len(history)
    loss, balanced = history["train_loss"].tolist(), history["val_balanced_accuracy"].tolist()
    if epochs < 2:
        return paragraph(f"This run has {epochs} epoch: there is no curve to read yet.",
                         "Rerun the notebook with more epochs (on the course data) and read this again.")
    best = kept_epoch(balanced, loss)
    text = (f"Over {epochs} epochs the training loss went from {loss[0]:.3f} to {loss[-1]:.3f}; validation "
            f"balanced accuracy peaked at epoch {best + 1} ({balanced[best]:.3f}) and ended at {balanced[-1]:.3f}.")
    if best == epochs - 1:
        return paragraph(text, "It was still rising at the last epoch: more epochs may help.")
    fell = loss[-1] < loss[best]
    return paragraph(text, f"After epoch {best + 1} the training loss kept falling while the validation score "
                     "did not rise: the sign of overfitting (the kept best.pt is the peak)." if fell else
                     f"After epoch {best + 1} neither improved: the run had stalled.")
