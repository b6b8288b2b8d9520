"""A finished stage's temperature, conformal threshold and gate, as `export` and `predict --stage` use them.

They are computed once from the stage's best model (training images for the gate's means and
covariance, validation images for the temperature and both thresholds) and kept in the run
folder as uncertainty.npz (plain arrays, no pickle); a newer best.pt makes them stale.
"""

from pathlib import Path

import numpy as np

from ..files import atomic_path
from ..training.loop import pick_device
from ..training.stage import load_stage_model, require_stage
from .conformal import ALPHA, conformal_threshold
from .features import split_features
from .gate import REFUSE, fit_gate, gate_threshold, mahalanobis
from .temperature import fit_temperature, scaled

FILE = "uncertainty.npz"
NUMBERS = ("temperature", "alpha", "conformal_threshold", "ood_threshold", "refused_validation")


def compute_uncertainty(model, config, data_root, device, alpha=ALPHA, refuse=REFUSE):
    """{temperature, alpha, conformal_threshold, ood_threshold, refused_validation, means, precision} of a model."""
    size = config["image_size"]
    train_features, train_labels, _ = split_features(model, data_root, "train", size, device)
    val_features, val_labels, val_probabilities = split_features(model, data_root, "val", size, device)
    temperature = fit_temperature(val_probabilities, val_labels)
    means, precision = fit_gate(train_features, train_labels)
    distances = mahalanobis(val_features, means, precision)
    threshold = gate_threshold(distances, refuse)
    return {"temperature": temperature, "alpha": alpha,
            "conformal_threshold": conformal_threshold(scaled(val_probabilities, temperature), val_labels, alpha),
            "ood_threshold": threshold, "refused_validation": float((distances > threshold).mean()),
            "means": means, "precision": precision}


def read_uncertainty(path):
    """The numbers and arrays of an uncertainty.npz."""
    with np.load(path, allow_pickle=False) as saved:
        return {key: float(saved[key]) if key in NUMBERS else saved[key] for key in saved.files}


def stage_uncertainty(runs_root, stage, data_root=None, device=None, say=print):
    """The stage's statistics: read from its run folder, or computed and saved (`say`, unless None, says so)."""
    run_dir = require_stage(runs_root, stage)
    path = run_dir / FILE
    if path.is_file() and path.stat().st_mtime >= (run_dir / "best.pt").stat().st_mtime:
        return read_uncertainty(path)
    model, config = load_stage_model(runs_root, stage)
    if say:
        say(f"{stage}: temperature, conformal threshold and gate computed once from best.pt, saved to {stage}/{FILE}.")
    values = compute_uncertainty(model, config, Path(data_root or config["data_root"]), device or pick_device())
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **values)
    return values
