"""Run folders: checkpoints that load with weights_only=True, history.csv, the data fingerprint."""

import hashlib
from pathlib import Path

import pandas as pd
import torch

from ..confusion import read_confusion_matrix
from ..errors import CheckpointError
from ..files import atomic_path, read_json
from .recipes import RECIPES

HISTORY_COLUMNS = ["epoch", "train_loss", "val_accuracy", "val_balanced_accuracy", "val_macro_f1", "lr",
                   "seconds"]
# history.csv column -> TrainingResult list it is written from.
HISTORY_SERIES = {"train_loss": "loss_list", "val_accuracy": "accuracy_list",
                  "val_balanced_accuracy": "balanced_accuracy_list", "val_macro_f1": "macro_f1_list",
                  "lr": "lr_list", "seconds": "seconds_list"}


def save_checkpoint(path, checkpoint):
    """torch.save, atomically: a kill mid-write leaves the previous checkpoint intact."""
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)


def load_checkpoint(path):
    """Load a kit checkpoint safely (tensors and plain data only; nothing is unpickled)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:  # PyTorch's own text advises weights_only=False, which would run the file's code
        raise CheckpointError(f"{path}: not a readable skinkit checkpoint ({type(error).__name__}: it holds more "
                              "than tensors and plain data, or is damaged; it is never unpickled); delete it and "
                              "re-run the stage that writes it.") from None


def history_frame(result):
    """Per-epoch history of a TrainingResult as the history.csv table."""
    frame = pd.DataFrame({column: getattr(result, series) for column, series in HISTORY_SERIES.items()})
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    return frame[HISTORY_COLUMNS]


def read_history(path):
    """history.csv as a table with every current column; those an older kit did not write are empty (NaN)."""
    return pd.read_csv(path).reindex(columns=HISTORY_COLUMNS)


def recorded_epochs(run_dir):
    """Epochs a run folder trained: the rows of its history.csv, else the epochs its config.json asked for."""
    history = Path(run_dir) / "history.csv"
    if history.is_file():
        return len(read_history(history))
    return read_json(Path(run_dir) / "config.json")["epochs"]


def epochs_against_recipe(runs_root, stage):
    """(stage, epochs trained, the recipe's epochs) of `stage` and the stages it started from, earliest first.

    The stages it started from are followed through config.json's init_from; the recipe's epochs are
    None for a stage not in RECIPES.
    """
    config = read_json(Path(runs_root) / stage / "config.json")
    earlier = epochs_against_recipe(runs_root, config["init_from"]) if config.get("init_from") else []
    recipe = RECIPES.get(config.get("stage", stage))
    return [*earlier, (stage, recorded_epochs(Path(runs_root) / stage), recipe.epochs if recipe else None)]


def read_confusion(path):
    """A saved confusion_matrix.csv as validated counts (rows = true class, columns = predicted)."""
    return read_confusion_matrix(path)


def data_fingerprint(data_root):
    """SHA-256 of the dataset's manifest.csv, or else of its sorted file list with sizes."""
    data_root = Path(data_root)
    manifest = data_root / "manifest.csv"
    digest = hashlib.sha256()
    if manifest.is_file():
        digest.update(manifest.read_bytes())
    else:
        for path in sorted(p for p in data_root.rglob("*") if p.is_file() and not p.name.startswith(".")):
            digest.update(f"{path.relative_to(data_root)}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()
