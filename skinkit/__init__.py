"""skinkit: transfer learning on dermatoscopic skin-lesion images with MobileNetV3.

What the notebooks and outside scripts call, importable from `skinkit` itself (listed in
docs/development.md); everything else lives in the subpackages: skinkit.data, skinkit.training,
skinkit.reporting, skinkit.uncertainty, skinkit.deployment, skinkit.grading and skinkit.exercises (the
worked solutions).

The names are imported on first use (PEP 562), so `import skinkit` and commands that do not
train, like `python -m skinkit grade`, start without loading PyTorch.
"""

import importlib

# Public name -> the module (relative to this package) that defines it.
_SOURCES = {
    ".classes": ["CLASS_CODES", "LESION_CLASSES", "NUM_CLASSES"],
    ".data.augment": ["BatchAugment"],
    ".data.dataset": ["AugmentedDataset", "DatasetError", "SkinLesionDataset"],
    ".data.loaders": ["make_loader", "stage_loaders"],
    ".errors": ["KitError"],
    ".reporting.comparison": ["test_results"],
    ".metrics": ["classification_table", "confusion_matrix", "metrics_report", "summary_metrics"],
    ".reporting.stage_predictions": ["evaluate_test_split"],
    ".training.loop": ["pick_device", "predict_labels", "seed_everything"],
    ".training.models": ["build_model", "count_parameters", "imagenet_state", "set_base_trainable", "unfreeze"],
    ".training.recipes": ["CLASS_WEIGHTS_LARGE_FINETUNE", "CLASS_WEIGHTS_LARGE_TRAIN",
                          "CLASS_WEIGHTS_SMALL_FINETUNE", "CLASS_WEIGHTS_SMALL_TRAIN", "OVERSAMPLING_WEIGHTS",
                          "RECIPES", "Recipe"],
    ".training.stage": ["MissingPrerequisite", "load_stage_model", "run_stage", "train_model"],
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}

__all__ = list(_MODULE_OF)


def __getattr__(name):
    """Import a public name from its module the first time it is asked for."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name], __name__), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__():
    """The public names with the module's own, as an eager import would list them."""
    return sorted({*globals(), *__all__})
