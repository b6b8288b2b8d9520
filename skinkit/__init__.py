"""skinkit: transfer learning on dermatoscopic skin-lesion images with MobileNetV3."""

from .classes import (CLASS_CODES, CLASS_WEIGHTS_LARGE_FINETUNE, CLASS_WEIGHTS_LARGE_TRAIN,
                      CLASS_WEIGHTS_SMALL_FINETUNE, CLASS_WEIGHTS_SMALL_TRAIN, LESION_CLASSES,
                      NUM_CLASSES, OVERSAMPLING_WEIGHTS)
from .data.dataset import AugmentedDataset, DatasetError, SkinLesionDataset
from .reporting.metrics import classification_table, confusion_matrix, metrics_report, summary_metrics
from .training.models import build_model, count_parameters, set_base_trainable, unfreeze
from .training.recipes import RECIPES, Recipe
from .training.stage import MissingPrerequisite, load_stage_model, run_stage
from .training.loop import pick_device, seed_everything, train_model
from .data.transforms import eval_transform, train_transform

__all__ = [
    "CLASS_CODES", "CLASS_WEIGHTS_LARGE_FINETUNE", "CLASS_WEIGHTS_LARGE_TRAIN",
    "CLASS_WEIGHTS_SMALL_FINETUNE", "CLASS_WEIGHTS_SMALL_TRAIN", "LESION_CLASSES", "NUM_CLASSES",
    "OVERSAMPLING_WEIGHTS", "AugmentedDataset", "DatasetError", "SkinLesionDataset",
    "classification_table", "confusion_matrix", "metrics_report", "summary_metrics", "build_model",
    "count_parameters", "set_base_trainable", "unfreeze", "RECIPES", "Recipe", "MissingPrerequisite",
    "load_stage_model", "run_stage", "pick_device", "seed_everything", "train_model",
    "eval_transform", "train_transform",
]
