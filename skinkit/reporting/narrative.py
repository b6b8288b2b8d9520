"""The cautions notebooks 02-06 print where a run can mislead, read from the run folders' own files.

A validation score gets a bootstrap interval over the validation images (`validation_scores`).
"""

from pathlib import Path

from ..files import read_json
from ..metrics import classification_table, labels_from_confusion
from ..training.recipes import NOTEBOOK_OF_STAGE, RECIPES
from ..training.run_folders import read_confusion
from ..training.stage import require_stage
from .chance import read_against_chance
from .conclusion import wrap_paragraphs
from .intervals import CONFIDENCE


def paragraph(*sentences):
    """Sentences joined into one paragraph wrapped to TEXT_WIDTH (None and empty ones left out)."""
    return wrap_paragraphs(" ".join(s for s in sentences if s))


def stage_name(stage):
    """'Large frozen (notebook 02)' for 'large_frozen'."""
    recipe = RECIPES[stage]
    return (f"{recipe.model.title()} {'frozen' if recipe.freeze_base else 'fine-tuned'} "
            f"(notebook {NOTEBOOK_OF_STAGE[stage][:2]})")


def weights_caution(runs_root, stages):
    """For a notebook that reads finished stages: which of them started from random numbers."""
    random_init = [stage for stage in stages if not read_json(Path(runs_root) / stage / "config.json")["pretrained"]]
    if not random_init:
        return "ImageNet weights: yes, for every model read here (config.json: \"pretrained\": true)."
    who = ("Every model read here" if len(random_init) == len(stages)
           else " and ".join(stage_name(stage) for stage in random_init))
    return paragraph(f"CAUTION: {who} started from random numbers (no ImageNet weights; config.json: "
                     "\"pretrained\": false), so this is NOT transfer learning: read every figure below "
                     "as that of a network trained from scratch on these images.")


def validation_scores(run_dir, confidence=CONFIDENCE):
    """(balanced accuracy, interval low, interval high, per-class recall) of a finished stage."""
    run_dir = Path(run_dir)
    if run_dir.name in NOTEBOOK_OF_STAGE and not run_dir.is_dir():  # not trained yet: name the notebook that trains it
        require_stage(run_dir.parent, run_dir.name)
    counts = read_confusion(run_dir / "confusion_matrix.csv")
    y_true, y_pred = labels_from_confusion(counts)
    balanced, low, high, _ = read_against_chance(y_true, y_pred, confidence)
    recall = classification_table(y_true, y_pred)["recall"][counts.sum(axis=1) > 0]
    return balanced, low, high, recall


