"""Notebook 7: Grad-CAM heatmaps of the fine-tuned models, their mistakes, and a sanity check.

Grad-CAM comes from captum (`LayerGradCam`) on the last block of `model.features`; the images go
through the same evaluation preprocessing as validation (`BatchAugment(train=False)`). The
images to explain are picked from each model's saved validation predictions (predictions_val.csv).
"""

import dataclasses
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from captum.attr import LayerAttribution, LayerGradCam
from scipy.stats import spearmanr

from ..classes import CLASS_CODES
from ..data.augment import BatchAugment
from ..data.dataset import SkinLesionDataset
from ..files import write_csv
from ..training.loop import to_device
from ..training.models import build_model
from ..training.stage import load_stage_model
from .comparison import FINAL_STAGES
from .conclusion import wrap_paragraphs
from .predictions import probabilities
from .stage_predictions import stage_predictions

# A median rank correlation at or above this reads as "the maps barely depend on the weights".
SANITY_FAILS_AT = 0.5
# Below this many grid cells a rank correlation takes so few values that it says little.
FEW_GRID_CELLS = 16
EXPLAINED_COLUMNS = ["file", "stage", "figure", "true", "predicted", "confidence", "rank_correlation"]


@contextmanager
def unchanged(model):
    """Run a block in eval mode, then give back the model's train/eval modes and requires_grad flags."""
    modes = [module.training for module in model.modules()]
    flags = [param.requires_grad for param in model.parameters()]
    try:
        yield model.eval()
    finally:
        for module, training in zip(model.modules(), modes):
            module.training = training
        for param, flag in zip(model.parameters(), flags):
            param.requires_grad_(flag)


def model_inputs(model, images, image_size):
    """uint8 gray images (N, 1, H, W) -> the normalised 3-channel batch the model saw in validation."""
    device = next(model.parameters()).device
    return BatchAugment(model.architecture, image_size, train=False).to(device)(images.to(device))


def layer_gradcam(model, inputs, targets, batch_size=16):
    """Signed Grad-CAM maps (N, 1, h, w) of class `targets` at the last block of `model.features`."""
    targets = torch.as_tensor(targets, device=inputs.device)
    with unchanged(model):
        # captum asks autograd for the gradient at the block's output itself, so a frozen base
        # (requires_grad=False) still gives a map; no parameter's .grad is touched.
        cam = LayerGradCam(model, model.features[-1])
        return torch.cat([cam.attribute(batch, target=target).detach().float()
                          for batch, target in zip(inputs.split(batch_size), targets.split(batch_size))])


def upsample(maps, size):
    """(N, 1, h, w) maps -> (N, H, W) on the CPU, bilinearly resized to the input's `size`."""
    return LayerAttribution.interpolate(maps, tuple(size), interpolate_mode="bilinear").squeeze(1).cpu()


def to_heatmaps(maps, size):
    """Grad-CAM's display form: positive evidence only, resized to `size`, each map stretched to [0, 1].

    Min-max scaling, as pytorch-grad-cam shows maps: a nearly uniform map (a model that has
    learned little) is stretched until its small differences show; the sanity check tells
    whether they mean anything. A constant map becomes all 0.
    """
    maps = upsample(maps.clamp_min(0), size)
    low = maps.flatten(1).amin(dim=1).view(-1, 1, 1)
    spread = maps.flatten(1).amax(dim=1).view(-1, 1, 1) - low
    return (maps - low) / spread.clamp_min(torch.finfo(maps.dtype).tiny)


def gradcam(model, inputs, targets):
    """Grad-CAM heatmaps (N, H, W) in [0, 1] for class `targets`, at the input's size."""
    return to_heatmaps(layer_gradcam(model, inputs, targets), inputs.shape[-2:])


def with_confidence(table):
    """file, true, predicted of a saved predictions table, with the softmax probability of the prediction."""
    return table[["file", "true", "predicted"]].assign(confidence=probabilities(table).max(axis=1))


def class_examples(table):
    """Per class, its most confident correct and most confident wrong prediction (absent if none)."""
    rows = []
    for code in CLASS_CODES:
        of_class = table[table["true"] == code].sort_values("confidence", ascending=False)
        for chosen in (of_class["predicted"] == code, of_class["predicted"] != code):
            rows.append(of_class[chosen].head(1).assign(figure="classes"))
    return pd.concat(rows, ignore_index=True)


def confident_mistakes(table, count=12):
    """The `count` wrong predictions made with the highest confidence."""
    wrong = table[table["true"] != table["predicted"]]
    return wrong.nlargest(count, "confidence").assign(figure="mistakes").reset_index(drop=True)


def randomised_copy(model, seed=0):
    """The same architecture with freshly initialised weights (seeded), for the sanity check."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        random_model = build_model(model.architecture, pretrained=False)
    return to_device(random_model, next(model.parameters()).device).eval()


def rank_correlation(first, second):
    """Spearman rank correlation of two maps' pixels (NaN when either map is constant)."""
    first, second = first.flatten().numpy(), second.flatten().numpy()
    if first.min() == first.max() or second.min() == second.max():
        return float("nan")
    return float(spearmanr(first, second).statistic)


@dataclass
class Explanations:
    """Explained images of one model: a table (one row per image), aligned tensors, and what they come from.

    `class_counts` holds the images per class in the explained split, `grid` the (rows, columns) of
    the Grad-CAM map before it is stretched over the image, `pretrained` whether the model started
    from ImageNet weights.
    """

    table: pd.DataFrame
    images: torch.Tensor
    heatmaps: torch.Tensor
    random_heatmaps: torch.Tensor
    class_counts: dict = field(default_factory=dict)
    grid: tuple = None
    split: str = "validation"
    pretrained: bool = True

    def select(self, figure):
        """The rows (and their images and heatmaps) shown in `figure` ("classes" or "mistakes")."""
        keep = (self.table["figure"] == figure).to_numpy()
        index = torch.as_tensor(np.flatnonzero(keep), dtype=torch.long)
        return dataclasses.replace(self, table=self.table[keep].reset_index(drop=True), images=self.images[index],
                                   heatmaps=self.heatmaps[index], random_heatmaps=self.random_heatmaps[index])


def explain_stage(model, stage, predictions, dataset, image_size, device, mistakes=12, seed=0):
    """Grad-CAM of the class examples and most confident mistakes of `model`, trained and randomised.

    `predictions`: the model's saved predictions on `dataset` (see `skinkit.reporting.predictions`).
    """
    table = with_confidence(predictions)
    chosen = pd.concat([class_examples(table), confident_mistakes(table, mistakes)], ignore_index=True)
    positions = pd.Index(dataset.img_labels["file"]).get_indexer(chosen["file"])
    inputs = model_inputs(model, torch.stack([dataset.image(i) for i in positions]), image_size)
    targets = [CLASS_CODES.index(code) for code in chosen["predicted"]]
    maps = layer_gradcam(model, inputs, targets)
    random_maps = layer_gradcam(randomised_copy(model, seed), inputs, targets)
    # Ranked on the signed 7x7 maps: upsampling adds no information (only ties and smoothness),
    # and cells with negative evidence (all 0 once shown) keep their order instead of tying.
    chosen["rank_correlation"] = [rank_correlation(a, b) for a, b in zip(maps.cpu(), random_maps.cpu())]
    size = inputs.shape[-2:]
    chosen["stage"] = stage
    return Explanations(chosen[EXPLAINED_COLUMNS], inputs[:, 0].detach().cpu(), to_heatmaps(maps, size),
                        to_heatmaps(random_maps, size), table["true"].value_counts().to_dict(),
                        tuple(maps.shape[-2:]), pretrained=getattr(model, "pretrained", True))


def explain_final_models(runs_root, data_root, image_size, device, mistakes=12, seed=0):
    """Explanations of the fine-tuned Large and Small on the validation split ({name: Explanations})."""
    models = {name: load_stage_model(runs_root, stage)[0] for name, stage in FINAL_STAGES.items()}  # both, or stop
    val_set = SkinLesionDataset(Path(data_root) / "val")
    return {name: explain_stage(to_device(model, device), FINAL_STAGES[name],
                                stage_predictions(runs_root, FINAL_STAGES[name], data_root, "val", device),
                                val_set, image_size, device, mistakes, seed)
            for name, model in models.items()}


def grid_of(explained):
    """The (rows, columns) of the Grad-CAM maps in `explained` ({name: Explanations}, one image size)."""
    return next(iter(explained.values())).grid


def explanation_table(explained):
    """All explained images of all models, one row each (what explanations.csv holds)."""
    return pd.concat([each.table for each in explained.values()], ignore_index=True)


def save_explanations(explained, out_dir):
    """Write explanations.csv (one row per explained image) into `out_dir`; return its path."""
    path = Path(out_dir) / "explanations.csv"
    write_csv(path, explanation_table(explained), index=False)
    return path


def sanity_caution(table, grid):
    """A caution when the trained maps barely differ from random weights' or the grid is too coarse; '' if not.

    `table`: explanation_table's rows; `grid`: the (rows, columns) of the maps the correlations were taken over.
    """
    medians = table.groupby("stage", sort=False)["rank_correlation"].median()
    failing = [stage for stage, value in medians.items() if math.isnan(value) or value >= SANITY_FAILS_AT]
    return wrap_paragraphs(
        f"Caution: for {', '.join(failing)} the maps barely depend on the weights (median rank correlation "
        f"at or above {SANITY_FAILS_AT}): do not read them as explanations." if failing else None,
        f"Caution: with only {grid[0]}x{grid[1]} cells per map (a small IMAGE_SIZE), a rank correlation takes a "
        "handful of values: these medians say little either way." if grid[0] * grid[1] < FEW_GRID_CELLS else None)
