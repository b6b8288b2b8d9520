"""Notebook 1: counts, image statistics, oversampling and augmentation views of a dataset."""

import math
from pathlib import Path

import pandas as pd
import torch

from ..classes import CLASS_CODES
from ..data.augment import BatchAugment
from ..data.dataset import AugmentedDataset, SkinLesionDataset, check_data_root, class_counts
from ..training.recipes import OVERSAMPLING_WEIGHTS
from .plots import show_image_grid

SPLIT_NAMES = ("train", "val", "test")


def load_splits(data_root):
    """{split: SkinLesionDataset} for the splits present under `data_root` (train/ is required)."""
    check_data_root(data_root)
    return {split: SkinLesionDataset(Path(data_root) / split)
            for split in SPLIT_NAMES if (Path(data_root) / split).is_dir()}


def split_counts(datasets):
    """Images per class (rows) and split (columns), with a total row."""
    counts = pd.DataFrame({split: class_counts(ds.img_labels["label"]) for split, ds in datasets.items()})
    counts.loc["total"] = counts.sum()
    return counts


def image_statistics(dataset):
    """Per class: image sizes seen, and mean / std of pixel intensity (0-255)."""
    rows = []
    for index, label in enumerate(dataset.img_labels["label"]):
        image = dataset.image(index).float()
        rows.append((CLASS_CODES[label], f"{image.shape[2]}x{image.shape[1]}",
                     image.mean().item(), image.std().item()))
    frame = pd.DataFrame(rows, columns=["class", "size", "mean", "std"])
    return frame.groupby("class", sort=False).agg(
        images=("size", "size"), sizes=("size", lambda s: ", ".join(sorted(set(s)))),
        mean_intensity=("mean", "mean"), std_intensity=("std", "mean")).round(1)


def oversampling_table(train_set, weights=OVERSAMPLING_WEIGHTS):
    """Images per class before and after repeating each class `weights[label]` times."""
    augmented = AugmentedDataset(train_set, weights=weights)
    table = pd.DataFrame({"images": class_counts(train_set.img_labels["label"]),
                          "repeat": [f"x{w}" for w in weights],
                          "after_oversampling": class_counts(augmented.img_labels["label"])})
    table.loc["total"] = [len(train_set), "", len(augmented)]
    return table


def show_augmentations(dataset, index=0, views=8, model_name="large", image_size=None):
    """The original image and `views` random training augmentations of it, as the model sees them."""
    image = dataset.image(index)
    batch = image.unsqueeze(0).repeat(views, 1, 1, 1)
    augmented = BatchAugment(model_name, image_size, train=True)(batch)[:, :1]
    shown = [image.float() / 255] + [(view - view.min()) / (view.max() - view.min() + 1e-8) for view in augmented]
    titles = ["original"] + [f"view {i + 1}" for i in range(views)]
    return show_image_grid([torch.as_tensor(view) for view in shown], titles, columns=min(views + 1, 5))


def rotation_corners(image_shape, model_name="large", image_size=None, angles=81):
    """How much of a training view the empty corners of its rotation take, over evenly spread angles.

    The kit's own warp turns a white image of `image_shape` (height, width) by each of `angles`
    angles across the augmentation's range; the pixels left black are the corners.
    """
    augment = BatchAugment(model_name, image_size, train=True)
    radians = torch.linspace(-augment.degrees, augment.degrees, angles) * (math.pi / 180)
    white = torch.full((angles, 1, *image_shape), 255, dtype=torch.uint8)
    view = augment.warp(white, radians, torch.ones(angles), torch.ones(angles))
    black = (view < 255 / 2).float().mean(dim=(1, 2, 3))
    return pd.Series({"views with black corners": (black > 0).float().mean().item(),
                      "share of a view, on average": black.mean().item(),
                      f"share of a view at ±{augment.degrees:g}°": black.max().item()})
