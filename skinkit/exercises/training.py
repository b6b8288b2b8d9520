"""What the worked solutions of notebooks 01-05 compute: the data's shares and the training stages.

Selection rules, oversampling and loss shares, a changed recipe trained into
`<runs>/exercises/<name>/`, a few optimizer steps per learning rate from a stage's starting
point, and the learning curves in words.
"""

import copy
import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..classes import CLASS_CODES, NUM_CLASSES
from ..data.dataset import SkinLesionDataset
from ..data.loaders import stage_loaders
from ..files import read_json
from ..metrics import summary_metrics
from ..reporting.narrative import paragraph
from ..training.loop import batch_to_device, kept_epoch, pick_device, predict_labels, seed_everything, to_device
from ..training.recipes import SELECTION_RULES
from ..training.stage import build_stage, load_finished, recipe_objects, require_stage, run_stage


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
    criterion, optimizer, _ = recipe_objects(dataclasses.replace(recipe, lr=rate), model, device)
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
    start = build_stage(recipe, settings.runs_root, torch.device("cpu"), course["pretrained"])[0]
    train_set, val_set = (SkinLesionDataset(Path(settings.data_root) / split) for split in ("train", "val"))
    rows = {}
    for rate in rates:
        seed_everything(settings.seed)  # the same batches, augmentations and dropout for every rate
        loaders = stage_loaders(train_set, val_set, recipe.model, settings.image_size, device, recipe.train_batch_size,
                                recipe.val_batch_size, recipe.oversampling,
                                torch.Generator().manual_seed(settings.seed))
        train_loader, val_loader = loaders
        rows[rate] = probe_one_rate(start, recipe, rate, train_loader, val_loader if validate else None, steps, device)
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "learning rate"
    return frame


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
