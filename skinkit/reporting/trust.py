"""Notebook 08's data and files: the saved predictions of the fine-tuned models, scores with
intervals, the patient metadata, and the few sentences a run can make misleading.

The analysis itself (temperature, ECE, thresholds, subgroups, conformal sets, the gate) is
computed in the notebook's cells; this module holds what those cells read and write.
"""

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from ..files import read_json, write_csv, write_json
from .chance import ABOVE_CHANCE, read_against_chance
from .comparison import FINAL_STAGES
from .conclusion import wrap_paragraphs
from .intervals import CONFIDENCE
from .predictions import predicted_labels, probabilities, true_labels
from .stage_predictions import stage_predictions

PATIENT_COLUMNS = ["age", "sex", "localization"]
AGE_BANDS = {"under 30": 0, "30-59": 30, "60 and over": 60}  # band: lowest age in it
TOO_FEW = "too few images"


@dataclass
class StagePredictions:
    """One fine-tuned stage's saved predictions on validation and test."""

    stage: str
    pretrained: bool
    val: pd.DataFrame
    test: pd.DataFrame

    def __post_init__(self):
        self.p_val, self.y_val = probabilities(self.val), true_labels(self.val)
        self.p_test, self.y_test = probabilities(self.test), true_labels(self.test)


def final_predictions(runs_root, data_root, device=None):
    """{model name: StagePredictions} of the fine-tuned Large and Small, read from their run folders."""
    return {name: StagePredictions(stage, bool(read_json(Path(runs_root) / stage / "config.json")["pretrained"]),
                                   *(stage_predictions(runs_root, stage, data_root, split, device)
                                     for split in ("val", "test")))
            for name, stage in FINAL_STAGES.items()}


def proportion_interval(successes, trials, confidence=CONFIDENCE):
    """{'low', 'high'}: the exact (Clopper-Pearson) interval of a share; NaN without trials."""
    if not trials:
        return {"low": math.nan, "high": math.nan}
    interval = binomtest(int(successes), int(trials)).proportion_ci(confidence, method="exact")
    return {"low": interval.low, "high": interval.high}


def balanced_accuracy_with_interval(y_true, y_pred, confidence=CONFIDENCE, seed=0):
    """{'balanced accuracy', 'low', 'high'} of some images (NaN when there are none)."""
    if not len(y_true):
        return {"balanced accuracy": math.nan, "low": math.nan, "high": math.nan}
    score, low, high, _ = read_against_chance(np.asarray(y_true), np.asarray(y_pred), confidence, seed)
    return {"balanced accuracy": score, "low": low, "high": high}


def patient_metadata(data_root):
    """manifest.csv's age (as a number), sex and body site by file, "unknown" left out; None when it has none."""
    manifest = Path(data_root) / "manifest.csv"
    table = pd.read_csv(manifest, dtype=str) if manifest.is_file() else pd.DataFrame()
    if not set(PATIENT_COLUMNS) <= set(table.columns) or table[PATIENT_COLUMNS].isna().all(axis=None):
        return None
    table = table.set_index("file")[PATIENT_COLUMNS].replace({"unknown": None, "": None})
    age = pd.to_numeric(table["age"], errors="coerce")
    bands = pd.cut(age, [*AGE_BANDS.values(), np.inf], right=False, labels=list(AGE_BANDS))
    return table.assign(age=age, **{"age band": bands}).rename(columns={"localization": "body site"})


def group_score(rows, min_images, confidence=CONFIDENCE, seed=0):
    """n and balanced accuracy [interval] of one group's test rows (columns true, predicted); small: not scored."""
    if len(rows) < min_images:
        return pd.Series({"n": len(rows), "balanced accuracy": math.nan, "low": math.nan, "high": math.nan,
                          "note": TOO_FEW})
    score = balanced_accuracy_with_interval(true_labels(rows), predicted_labels(rows), confidence, seed)
    return pd.Series({"n": len(rows), **score, "note": ""})


def separated_groups(subgroups):
    """'Small, sex: female below male': groups whose interval lies wholly below another's of the same attribute."""
    found = []
    for (model, attribute), rows in subgroups.dropna(subset=["low"]).groupby(["model", "attribute"], sort=False):
        found += [f"{model}, {attribute}: {worse.group} below {better.group}"
                  for worse in rows.itertuples() for better in rows.itertuples() if worse.high < better.low]
    return found


def cautions(stages, confidence=CONFIDENCE, seed=0):
    """A paragraph per model whose numbers can mislead: random initial weights, or not above chance on test."""
    lines = []
    for name, each in stages.items():
        if not each.pretrained:
            lines.append(f"{name} started from random weights, not ImageNet's: not the project report's "
                         f"transfer learning.")
        score, low, high, reading = read_against_chance(each.y_test, each.p_test.argmax(axis=1), confidence, seed)
        if reading != ABOVE_CHANCE:
            lines.append(f"{name} is {reading} on test (balanced accuracy {score:.3f} [{low:.3f}, {high:.3f}]): "
                         f"its calibration, thresholds and sets below describe a model that has not learned "
                         f"the classes.")
    return wrap_paragraphs(*lines)


def missed_target(name, low, high, target):
    """A line when a whole interval lies below its target (a miss on new images is then likely), else ''."""
    if high < target:
        return f"{name}: the whole interval [{low:.2f}, {high:.2f}] lies below the {target:.0%} target."
    return ""


def plain(value):
    """A value JSON can write: NumPy numbers as Python ones, NaN as None (null), dicts item by item."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    value = value.item() if isinstance(value, np.generic) else value
    return None if isinstance(value, float) and math.isnan(value) else value


def save_trust(summary, subgroups, out_dir):
    """Write trust.json ({stage: numbers}) and subgroups.csv (when there are subgroups); return their paths."""
    out_dir = Path(out_dir)
    write_json(out_dir / "trust.json", plain(summary))
    saved = [out_dir / "trust.json"]
    if subgroups is not None:
        write_csv(out_dir / "subgroups.csv", subgroups, index=False)
        saved.append(out_dir / "subgroups.csv")
    return saved
