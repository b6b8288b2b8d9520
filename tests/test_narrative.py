"""Run-aware sentences: each reading follows the numbers of the run folder it is given."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from skinkit.classes import CLASS_CODES
from skinkit.files import write_csv, write_json
from skinkit.metrics import labels_from_confusion
from skinkit.reporting import narrative
from skinkit.training.recipes import RECIPES
from skinkit.training.stage import MissingPrerequisite

NV = CLASS_CODES.index("nv")


def flat(text):
    return " ".join(text.split())


def confusion(correct, images=20, missed=()):
    """Per class `images` validation images, `correct` of them right; classes in `missed` all called nv."""
    counts = np.zeros((len(CLASS_CODES), len(CLASS_CODES)), dtype=int)
    for label, code in enumerate(CLASS_CODES):
        right = 0 if code in missed else correct
        counts[label, label] += right
        counts[label, NV] += images - right
    return pd.DataFrame(counts, index=CLASS_CODES, columns=CLASS_CODES)


def run_folder(runs_root, stage, counts, pretrained=False, history=None, select_by="balanced_accuracy",
               best_epoch=1):
    """A finished stage's folder: config.json, metrics.json, confusion_matrix.csv and history.csv."""
    folder = runs_root / stage
    recipe = RECIPES[stage]
    write_json(folder / "config.json", {"stage": stage, "freeze_base": recipe.freeze_base, "pretrained": pretrained,
                                        "init_from": recipe.init_from, "select_by": select_by, "epochs": 1})
    balanced = balanced_accuracy_score(*labels_from_confusion(counts))
    write_json(folder / "metrics.json", {"balanced_accuracy": balanced, "best_epoch": best_epoch})
    write_csv(folder / "confusion_matrix.csv", counts, index_label="true")
    history = history or {"train_loss": [1.0], "val_accuracy": [0.5], "val_balanced_accuracy": [balanced]}
    frame = pd.DataFrame(history)
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    write_csv(folder / "history.csv", frame.assign(val_macro_f1=0.1, lr=1e-3, seconds=1.0), index=False)
    return folder


def test_the_caution_of_a_reading_notebook_names_the_stages_without_weights(tmp_path):
    run_folder(tmp_path, "large_finetune", confusion(10), pretrained=True)
    run_folder(tmp_path, "small_finetune", confusion(10), pretrained=False)
    stages = ["large_finetune", "small_finetune"]
    assert flat(narrative.weights_caution(tmp_path, stages)).startswith(
        "CAUTION: Small fine-tuned (notebook 05) started from random numbers")
    run_folder(tmp_path, "large_finetune", confusion(10), pretrained=False)
    assert flat(narrative.weights_caution(tmp_path, stages)).startswith("CAUTION: Every model read here")
    for stage in stages:
        run_folder(tmp_path, stage, confusion(10), pretrained=True)
    assert narrative.weights_caution(tmp_path, stages).startswith("ImageNet weights: yes")




def test_scores_of_a_stage_not_yet_trained_name_the_notebook_that_trains_it(tmp_path):
    """Notebook 04 compares with 02's stage: run out of order, it says which notebook to run first."""
    with pytest.raises(MissingPrerequisite, match="Run notebooks/02_large_training.ipynb first"):
        narrative.validation_scores(tmp_path / "large_frozen")
