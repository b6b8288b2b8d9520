"""Saved predictions: `predictions_val.csv` and `predictions_test.csv` in a stage's run folder.

One row per image: its file, the true and the predicted class code, and the softmax probability
of each class (p_akiec ... p_vasc). Notebooks 06-08 read these files instead of running a model
on the same images again.
"""

import numpy as np
import pandas as pd

from ..classes import CLASS_CODES, LABEL_BY_CODE
from ..errors import KitError
from ..training.saved_predictions import (  # the writer sits below reporting: training writes predictions_val.csv
    PREDICTION_COLUMNS,
    PROBABILITY_COLUMNS,
)
from ..training.saved_predictions import predictions_path as predictions_path
from ..training.saved_predictions import predictions_table as predictions_table
from ..training.saved_predictions import write_predictions as write_predictions

# Probabilities are written with 8 significant digits; a row may sum to 1 within this.
SUM_TOLERANCE = 1e-4


class PredictionsError(KitError, ValueError):
    """A saved predictions file that cannot be used."""

    title = "Unreadable predictions"


def table_problem(table):
    """What makes a predictions table unusable, in a few words, or None."""
    missing = [column for column in PREDICTION_COLUMNS if column not in table]
    if missing:
        return f"missing column(s) {', '.join(missing)}"
    if table.empty or table["file"].duplicated().any():
        return "no rows" if table.empty else "an image listed twice"
    unknown = sorted((set(table["true"].astype(str)) | set(table["predicted"].astype(str))) - set(CLASS_CODES))
    if unknown:
        return f"unknown class code(s) {unknown[:3]}"
    values = table[PROBABILITY_COLUMNS].apply(pd.to_numeric, errors="coerce").to_numpy()
    if np.isnan(values).any() or (values < 0).any() or (values > 1).any():
        return "probabilities that are not numbers between 0 and 1"
    if (np.abs(values.sum(axis=1) - 1) > SUM_TOLERANCE).any():
        return "rows whose probabilities do not sum to 1"
    predicted = table["predicted"].map(CLASS_CODES.index).to_numpy()
    if (values[np.arange(len(values)), predicted] < values.max(axis=1)).any():
        return "a predicted class that is not the most probable one"
    return None


def read_predictions(path):
    """A saved predictions CSV, checked; a PredictionsError naming the file when it is damaged."""
    try:
        table = pd.read_csv(path, dtype={"file": str, "true": str, "predicted": str})
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        problem = f"not a readable CSV table ({type(error).__name__})"
    else:
        problem = table_problem(table)
    if problem:
        raise PredictionsError(f"{path}: damaged ({problem}); delete it and rerun this notebook, which "
                               f"writes it again from the run's best.pt.")
    return table


def true_labels(table):
    """The true class of each row as labels 0-6."""
    return table["true"].map(LABEL_BY_CODE).to_numpy()


def predicted_labels(table):
    """The predicted class of each row as labels 0-6."""
    return table["predicted"].map(LABEL_BY_CODE).to_numpy()


def probabilities(table):
    """The softmax probabilities as an (N, 7) float array, columns in class order."""
    return table[PROBABILITY_COLUMNS].to_numpy(dtype=float)
