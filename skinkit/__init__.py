"""skinkit: transfer learning on dermatoscopic skin-lesion images with MobileNetV3.

What the notebooks and outside scripts call, importable from `skinkit` itself (listed in
docs/development.md); everything else lives in skinkit.data, skinkit.training and skinkit.reporting.
"""

from .classes import CLASS_CODES, LESION_CLASSES, NUM_CLASSES
from .data.augment import BatchAugment
from .data.dataset import AugmentedDataset, DatasetError, SkinLesionDataset
from .data.loaders import make_loader, stage_loaders
from .errors import KitError
from .reporting.comparison import test_results
from .reporting.metrics import classification_table, confusion_matrix, metrics_report, summary_metrics
from .reporting.stage_predictions import evaluate_test_split
from .training.loop import pick_device, predict_labels, seed_everything, train_model
from .training.models import build_model, count_parameters, set_base_trainable, unfreeze
from .training.recipes import (CLASS_WEIGHTS_LARGE_FINETUNE, CLASS_WEIGHTS_LARGE_TRAIN, CLASS_WEIGHTS_SMALL_FINETUNE,
                               CLASS_WEIGHTS_SMALL_TRAIN, OVERSAMPLING_WEIGHTS, RECIPES, Recipe)
from .training.stage import MissingPrerequisite, load_stage_model, run_stage

__all__ = [
    "CLASS_CODES", "LESION_CLASSES", "NUM_CLASSES",
    "BatchAugment", "AugmentedDataset", "DatasetError", "SkinLesionDataset", "make_loader", "stage_loaders",
    "KitError",
    "evaluate_test_split", "test_results",
    "classification_table", "confusion_matrix", "metrics_report", "summary_metrics",
    "pick_device", "predict_labels", "seed_everything", "train_model",
    "build_model", "count_parameters", "set_base_trainable", "unfreeze",
    "CLASS_WEIGHTS_LARGE_FINETUNE", "CLASS_WEIGHTS_LARGE_TRAIN", "CLASS_WEIGHTS_SMALL_FINETUNE",
    "CLASS_WEIGHTS_SMALL_TRAIN", "OVERSAMPLING_WEIGHTS", "RECIPES", "Recipe",
    "MissingPrerequisite", "load_stage_model", "run_stage",
]
