"""Finished run folders for the tests of notebooks 06-08: config, metrics, a real best.pt, predictions."""

import numpy as np
import torch
from scipy.special import softmax

from skinkit.classes import CLASS_CODES, NUM_CLASSES
from skinkit.data.dataset import list_labelled_images
from skinkit.files import write_json
from skinkit.reporting.predictions import predictions_path, write_predictions
from skinkit.training.models import build_model
from skinkit.training.run_folders import save_checkpoint


def make_finished_stage(runs_root, stage, architecture="small", image_size=64, pretrained=False, seed=0):
    """A finished stage folder whose best.pt holds a seeded random model; returns the folder."""
    run_dir = runs_root / stage
    torch.manual_seed(seed)
    model = build_model(architecture, pretrained=False)
    save_checkpoint(run_dir / "best.pt", {"state_dict": model.state_dict(), "architecture": architecture,
                                          "stage": stage, "epoch": 1, "select_by": "balanced_accuracy",
                                          "class_codes": list(CLASS_CODES)})
    write_json(run_dir / "config.json", {"stage": stage, "model": architecture, "epochs": 1, "init_from": None,
                                         "pretrained": pretrained, "image_size": image_size})
    write_json(run_dir / "metrics.json", {"accuracy": 0.5, "balanced_accuracy": 0.2, "macro_f1": 0.1,
                                          "best_epoch": 1})
    return run_dir


def simulated_probabilities(y_true, skill=2.0, sharpness=1.0, seed=0):
    """Softmax probabilities of a model `skill` logits keener on the true class; `sharpness` > 1: over-confident."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=1.5, size=(len(y_true), NUM_CLASSES))
    logits[np.arange(len(y_true)), y_true] += skill
    return softmax(logits * sharpness, axis=1)


def write_simulated_predictions(run_dir, split, data_root, **options):
    """predictions_<split>.csv of a simulated model on the images of data_root/<split>; returns the labels."""
    images = list_labelled_images(data_root / split)
    y_true = images["label"].to_numpy()
    write_predictions(predictions_path(run_dir, split), images["file"], y_true,
                      simulated_probabilities(y_true, **options))
    return y_true
