"""Subgroups: does the model work as well for women and men, the young and the old, every body site?

Groups come from the patient metadata in manifest.csv (age, sex, localization; see `prepare`).
Every row gives its number of test images and a bootstrap interval; a group smaller than a
minimum is not scored at all, because a score from a handful of images says nothing.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics import balanced_accuracy
from .intervals import CONFIDENCE, score_interval
from .referral import MELANOMA

PATIENT_COLUMNS = ("age", "sex", "localization")
SUBGROUP_COLUMNS = ["stage", "attribute", "group", "n", "balanced_accuracy", "low", "high", "mel_recall"]
MIN_GROUP_IMAGES = 30
AGE_BANDS = {"under 30": (0, 30), "30-59": (30, 60), "60 and over": (60, np.inf)}
BODY_SITES = 4  # the largest body sites of the test split get a row each
UNKNOWN = {"unknown", ""}
TOO_FEW = "too few images"


def patient_metadata(data_root):
    """manifest.csv's age, sex and localization by file name, or None when the dataset has none."""
    manifest = Path(data_root) / "manifest.csv"
    if not manifest.is_file():
        return None
    table = pd.read_csv(manifest, dtype=str)
    if not set(PATIENT_COLUMNS) <= set(table.columns) or table[list(PATIENT_COLUMNS)].isna().all(axis=None):
        return None
    return table.set_index("file")[list(PATIENT_COLUMNS)]


def known(values):
    """The values that say something (not empty, not "unknown")."""
    return values[values.notna() & ~values.str.strip().str.lower().isin(UNKNOWN)]


def patient_groups(metadata, files, body_sites=BODY_SITES):
    """{(attribute, group): boolean mask over `files`}: sex, age band, and the largest body sites."""
    rows = metadata.reindex(files)
    groups = {("sex", sex): (rows["sex"] == sex).to_numpy() for sex in ("female", "male")}
    age = pd.to_numeric(rows["age"], errors="coerce").to_numpy()
    groups |= {("age", band): (age >= low) & (age < high) for band, (low, high) in AGE_BANDS.items()}
    for site in known(rows["localization"]).value_counts().index[:body_sites]:
        groups[("body site", site)] = (rows["localization"] == site).to_numpy()
    return groups


def subgroup_row(y_true, y_pred, min_images, confidence, seed):
    """n, balanced accuracy with its interval and melanoma recall of one group (NaN scores when too small)."""
    row = {"n": len(y_true), "balanced_accuracy": np.nan, "low": np.nan, "high": np.nan, "mel_recall": np.nan,
           "melanomas": int((y_true == MELANOMA).sum()), "melanomas_found": np.nan}
    if len(y_true) >= max(min_images, 1):
        row["balanced_accuracy"] = float(balanced_accuracy(y_true, y_pred))
        row["low"], row["high"] = score_interval("balanced_accuracy", y_true, y_pred, confidence=confidence,
                                                 seed=seed)
        row["melanomas_found"] = int(((y_true == MELANOMA) & (y_pred == MELANOMA)).sum())
        if row["melanomas"]:
            row["mel_recall"] = row["melanomas_found"] / row["melanomas"]
    return row


def subgroup_table(stage, files, y_true, y_pred, metadata, min_images=MIN_GROUP_IMAGES, confidence=CONFIDENCE,
                   seed=0):
    """One row per group of one stage's test predictions (SUBGROUP_COLUMNS, plus melanoma counts)."""
    rows = [{"stage": stage, "attribute": attribute, "group": group,
             **subgroup_row(y_true[mask], y_pred[mask], min_images, confidence, seed)}
            for (attribute, group), mask in patient_groups(metadata, files).items()]
    return pd.DataFrame(rows)


def group_sizes(table):
    """Images per group (one stage's rows: the groups are the same for every model)."""
    first = table[table["stage"] == table["stage"].iat[0]]
    return first.set_index(["attribute", "group"])["n"]
