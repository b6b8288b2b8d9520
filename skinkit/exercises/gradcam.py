"""What notebook 07's worked solutions compute: Grad-CAM against random weights, and the most confident mistakes.

Read from notebook 07's explanations.csv and the saved validation predictions; nothing is written.
"""

import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..classes import CLASS_CODES
from ..data.dataset import SkinLesionDataset
from ..errors import KitError
from ..reporting.comparison import FINAL_STAGES
from ..reporting.gradcam import layer_gradcam, model_inputs, randomised_copy, rank_correlation, with_confidence
from ..reporting.stage_predictions import stage_predictions
from ..training.loop import pick_device, to_device
from ..training.stage import load_stage_model


class MissingExplanations(KitError, RuntimeError):
    """Notebook 7 has not written explanations.csv into the run folder."""

    title = "Run notebook 07 first"


def mistake_pairs(table, count):
    """How often each 'true -> predicted' pair occurs among the `count` most confident mistakes."""
    wrong = table[table["true"] != table["predicted"]].nlargest(count, "confidence")
    return (wrong["true"] + " -> " + wrong["predicted"]).value_counts()


def explained_rows(runs_root):
    """Notebook 7's explanations.csv (which images it explained, for which class), or a one-line error."""
    path = Path(runs_root) / "explain" / "explanations.csv"
    if not path.is_file():
        raise MissingExplanations(f"No {path}. Run notebooks/07_explaining_predictions.ipynb first "
                                  "(with the same data and run folder).")
    return pd.read_csv(path)


def median_correlation(maps, others):
    """Median Spearman rank correlation of paired maps (constant maps left out)."""
    values = [rank_correlation(a, b) for a, b in zip(maps.cpu(), others.cpu())]
    kept = [value for value in values if not np.isnan(value)]
    return statistics.median(kept) if kept else float("nan")


def seed_check(runs_root, data_root, image_size, seeds=(0, 1), device=None):
    """Per fine-tuned model, on notebook 7's images: trained vs each random draw, and draw vs draw (medians)."""
    device = device or pick_device()
    rows, dataset = explained_rows(runs_root), SkinLesionDataset(Path(data_root) / "val")
    result = {}
    for name, stage in FINAL_STAGES.items():
        model = to_device(load_stage_model(runs_root, stage)[0], device)
        chosen = rows[rows["stage"] == stage]
        positions = pd.Index(dataset.img_labels["file"]).get_indexer(chosen["file"])
        inputs = model_inputs(model, torch.stack([dataset.image(i) for i in positions]), image_size)
        targets = [CLASS_CODES.index(code) for code in chosen["predicted"]]
        trained = layer_gradcam(model, inputs, targets)
        draws = [layer_gradcam(randomised_copy(model, seed), inputs, targets) for seed in seeds]
        result[name] = {**{f"trained vs random (seed {seed})": median_correlation(trained, draw)
                           for seed, draw in zip(seeds, draws)},
                        f"random (seed {seeds[0]}) vs random (seed {seeds[1]})": median_correlation(*draws),
                        "images": len(chosen)}
    return pd.DataFrame.from_dict(result, orient="index")


def validation_predictions(runs_root, data_root):
    """{model name: one row per validation image (true, predicted, confidence)} of both fine-tuned models."""
    return {name: with_confidence(stage_predictions(runs_root, stage, data_root, "val"))
            for name, stage in FINAL_STAGES.items()}
