"""Writing `predictions_<split>.csv` into a run folder (reading and checking them: reporting.predictions).

One row per image: its file, the true and the predicted class code, and the softmax probability
of each class (p_akiec ... p_vasc).
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..classes import CLASS_CODES
from ..files import write_csv

PROBABILITY_COLUMNS = [f"p_{code}" for code in CLASS_CODES]
PREDICTION_COLUMNS = ["file", "true", "predicted", *PROBABILITY_COLUMNS]


def predictions_path(run_dir, split):
    """Where a run folder keeps its predictions on `split` ("val" or "test")."""
    return Path(run_dir) / f"predictions_{split}.csv"


def predictions_table(files, y_true, probabilities):
    """The predictions table of images `files` with labels `y_true` and softmax `probabilities` (N, 7)."""
    codes, probabilities = np.array(CLASS_CODES), np.asarray(probabilities)
    table = pd.DataFrame({"file": list(files), "true": codes[np.asarray(y_true)],
                          "predicted": codes[probabilities.argmax(axis=1)]})
    return pd.concat([table, pd.DataFrame(probabilities, columns=PROBABILITY_COLUMNS)], axis=1)


def write_predictions(path, files, y_true, probabilities):
    """Write a predictions CSV atomically."""
    write_csv(path, predictions_table(files, y_true, probabilities), index=False, float_format="%.8g")
