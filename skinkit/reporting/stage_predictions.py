"""A finished stage's predictions on a split: read from its run folder, predicted from best.pt only once.

Run folders made before the kit saved predictions (or whose predictions list other images than
the data root's split, e.g. after pointing the notebooks at another dataset) get the file written
on first use, with one line saying so.
"""

from pathlib import Path

from ..classes import CLASS_CODES
from ..data.augment import BatchAugment
from ..data.dataset import SkinLesionDataset, list_labelled_images
from ..data.loaders import make_loader
from ..training.loop import pick_device, predict_probabilities, to_device
from ..training.stage import load_stage_model, require_stage
from .predictions import predictions_path, read_predictions, write_predictions


def lists_the_split(table, images):
    """True when a predictions table covers exactly the split's images, in order, with their classes."""
    codes = [CLASS_CODES[label] for label in images["label"]]
    return table["file"].tolist() == images["file"].tolist() and table["true"].tolist() == codes


def predict_dataset(model, dataset, image_size, device):
    """(files, true labels, softmax probabilities) of `model` on a course-format dataset (as in validation)."""
    loader = make_loader(dataset, BatchAugment(model.architecture, image_size, train=False), 25, device,
                         num_workers=0)
    y_true, probabilities = predict_probabilities(to_device(model, device), loader, device)
    return dataset.img_labels["file"], y_true, probabilities


def evaluate_test_split(model, data_root, image_size, device):
    """(y_true, y_pred) of `model` on the held-out test split (nothing is saved)."""
    _, y_true, probabilities = predict_dataset(model, SkinLesionDataset(Path(data_root) / "test"), image_size, device)
    return y_true, probabilities.argmax(axis=1)


def predict_split(runs_root, stage, data_root, split, device):
    """predict_dataset for a stage's best model on `split`, at the image size it was trained at."""
    model, config = load_stage_model(runs_root, stage)
    return predict_dataset(model, SkinLesionDataset(Path(data_root) / split), config.get("image_size"), device)


def stage_predictions(runs_root, stage, data_root, split, device=None):
    """The saved predictions of a finished stage on `split` ("val" or "test") of `data_root`."""
    path = predictions_path(require_stage(runs_root, stage), split)
    images = list_labelled_images(Path(data_root) / split)
    if path.is_file():
        table = read_predictions(path)
        if lists_the_split(table, images):
            return table
        reason = f"{path.name} lists other images than the data's {split}/ folder: predicted again from best.pt"
    elif split == "test":
        reason = f"the one evaluation on the test split, saved to {stage}/{path.name}"
    else:
        reason = f"{path.name} is missing (the run folder predates saved predictions): predicted once from best.pt"
    # Names relative to the run folder: a full path would not fit on one line of a notebook.
    print(f"{stage}: {reason}.")
    write_predictions(path, *predict_split(runs_root, stage, data_root, split, device or pick_device()))
    return read_predictions(path)
