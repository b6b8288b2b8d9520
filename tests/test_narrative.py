"""Run-aware sentences: each reading follows the numbers of the run folder it is given."""

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score

from skinkit.classes import CLASS_CODES
from skinkit.data.prepare import PRESETS
from skinkit.files import write_csv, write_json
from skinkit.metrics import labels_from_confusion
from skinkit.reporting import narrative
from skinkit.training.recipes import RECIPES

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


def test_the_weights_line_follows_config_json():
    assert "this is transfer learning" in narrative.weights_line(True)
    caution = flat(narrative.weights_line(False))
    assert caution.startswith("CAUTION: no ImageNet weights") and "NOT transfer learning" in caution


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


def test_the_stage_reading_says_what_the_base_held_and_how_the_score_compares_with_chance(tmp_path):
    at_chance = flat(narrative.stage_reading(run_folder(tmp_path, "large_frozen", confusion(0), pretrained=False)))
    assert "holds random numbers" in at_chance and "ImageNet features" not in at_chance
    assert "is at chance" in at_chance and "It recognises 1 of 7 classes at least once" in at_chance
    assert "Recall of the rarest classes: df 0.00, vasc 0.00." in at_chance
    assert "It answers nv for 100% of the validation images." in at_chance
    learned = flat(narrative.stage_reading(run_folder(tmp_path, "large_frozen", confusion(12, missed=("df",)),
                                                      pretrained=True)))
    assert "holds ImageNet features" in learned and "is above chance" in learned
    assert "6 of 7 classes at least once (never: df)" in learned and "vasc 0.60" in learned
    assert "It answers" not in learned  # nv is the answer for 80 of the 140 images
    fine_tuned = flat(narrative.stage_reading(run_folder(tmp_path, "small_finetune", confusion(3), pretrained=False)))
    assert "starting from Small frozen (notebook 04), whose base began as random numbers" in fine_tuned


def test_a_stage_is_called_ahead_only_when_the_validation_intervals_do_not_overlap(tmp_path):
    run_folder(tmp_path, "large_frozen", confusion(4))
    run_folder(tmp_path, "large_finetune", confusion(14))
    text = flat(narrative.comparison_reading(tmp_path, "large_finetune", "large_frozen"))
    assert "Large fine-tuned (notebook 03) is ahead: the two intervals do not overlap" in text
    assert "0.743" in text and "0.314" in text and "df 0.20 -> 0.70" in text  # nv: all 20 right
    assert "Large fine-tuned (notebook 03) is ahead" in flat(
        narrative.comparison_reading(tmp_path, "large_frozen", "large_finetune"))
    run_folder(tmp_path, "large_finetune", confusion(5))
    assert "cannot be told apart" in narrative.comparison_reading(tmp_path, "large_finetune", "large_frozen")
    assert "No finished run of Small frozen (notebook 04)" in flat(
        narrative.comparison_reading(tmp_path, "large_finetune", "small_frozen"))


def test_the_selection_reading_names_the_epoch_the_other_rule_would_keep(tmp_path):
    history = {"train_loss": [2.0, 1.5, 1.0], "val_accuracy": [0.67, 0.55, 0.60],
               "val_balanced_accuracy": [1 / 7, 0.30, 0.41]}
    text = flat(narrative.selection_reading(run_folder(tmp_path, "small_frozen", confusion(8), history=history,
                                                       best_epoch=3)))
    assert text.startswith("Kept epoch 3 of 3: the highest validation balanced accuracy (the kit's rule")
    assert "(the project report's rule) would keep epoch 1 instead (accuracy 0.670, balanced accuracy 0.143" in text
    same = flat(narrative.selection_reading(run_folder(tmp_path, "small_frozen", confusion(8))))
    assert same.endswith("(the project report's rule) would keep the same epoch.")


def test_the_classes_the_recipe_repeats_most_are_the_rarest_of_the_course_split():
    train_counts = dict(zip(CLASS_CODES, PRESETS["course"]["train"]))
    assert set(narrative.RARE_CLASSES) == set(sorted(train_counts, key=train_counts.get)[:2])
