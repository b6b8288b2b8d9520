"""Run folders: atomic artifact writes, checkpoints that load with weights_only=True."""

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import torch

from ..errors import CheckpointError
from ..grading.matrices import read_confusion_matrix

HISTORY_COLUMNS = ["epoch", "train_loss", "val_accuracy", "val_balanced_accuracy", "val_macro_f1", "lr",
                   "seconds"]
# history.csv column -> TrainingResult list it is written from.
HISTORY_SERIES = {"train_loss": "loss_list", "val_accuracy": "accuracy_list",
                  "val_balanced_accuracy": "balanced_accuracy_list", "val_macro_f1": "macro_f1_list",
                  "lr": "lr_list", "seconds": "seconds_list"}


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    os.chmod(tmp, 0o644)  # mkstemp makes files private; artifacts are meant to be shared
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path, data):
    """Write `data` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path):
    """Load a JSON file."""
    return json.loads(Path(path).read_text())


def write_csv(path, frame, **kwargs):
    """Write a DataFrame as CSV, atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **kwargs)


def save_figure(path, figure):
    """Save a matplotlib figure as PNG, atomically."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight")


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
    except Exception as error:
        raise CheckpointError(f"{path}: not a readable skinkit checkpoint ({error}); delete it and "
                         f"re-run the stage that writes it.") from error


def history_frame(result):
    """Per-epoch history of a TrainingResult as the history.csv table."""
    frame = pd.DataFrame({column: getattr(result, series) for column, series in HISTORY_SERIES.items()})
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    return frame[HISTORY_COLUMNS]


def read_history(path):
    """history.csv as a table with every current column; those an older kit did not write are empty (NaN)."""
    return pd.read_csv(path).reindex(columns=HISTORY_COLUMNS)


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
