"""The four training stages of the project report, as data: hyperparameters, loss and oversampling weights.

Plain data without PyTorch, so the command line can offer these choices without loading it.
"""

from dataclasses import dataclass

# Loss weights per class (akiec, bcc, bkl, df, mel, nv, vasc), as tuned in the project report.
CLASS_WEIGHTS_LARGE_TRAIN = (3.0, 2.2, 2.0, 5.0, 3.0, 1.0, 5.0)
CLASS_WEIGHTS_LARGE_FINETUNE = (3.0, 2.2, 2.0, 7.0, 3.0, 1.0, 5.0)
CLASS_WEIGHTS_SMALL_TRAIN = (3.0, 3.0, 2.0, 5.0, 3.0, 1.0, 6.0)
CLASS_WEIGHTS_SMALL_FINETUNE = (3.0, 3.0, 2.0, 5.0, 3.0, 1.0, 5.0)

# How many times each training image is repeated (with a fresh augmentation each time).
OVERSAMPLING_WEIGHTS = (4, 4, 2, 6, 2, 1, 6)

# Crop size the models see, in pixels: the ImageNet weights' own (224 for both MobileNetV3s), as
# in the project report. The one default for the command line, the notebooks and run_stage.
IMAGE_SIZE = 224

# Validation scores a stage can keep its best epoch by; "accuracy" is the project report's rule.
SELECTION_RULES = ("balanced_accuracy", "accuracy")

# Number formats training can compute in (training/precision.py says which `auto` picks where).
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class Recipe:
    """Hyperparameters of one training stage (Adam + StepLR + weighted cross-entropy)."""

    stage: str
    model: str
    freeze_base: bool
    epochs: int
    lr: float
    step_size: int
    gamma: float
    class_weights: tuple
    train_batch_size: int = 50
    val_batch_size: int = 25
    oversampling: tuple = OVERSAMPLING_WEIGHTS
    init_from: str = None  # stage whose best checkpoint this stage starts from
    select_by: str = "balanced_accuracy"  # validation score that picks the kept epoch (best.pt)

    def __post_init__(self):
        if self.select_by not in SELECTION_RULES:
            raise ValueError(f"select_by must be one of {', '.join(map(repr, SELECTION_RULES))}, "
                             f"not {self.select_by!r}")


RECIPES = {
    # The report gives no StepLR settings for this stage; halving every 4 of 12 epochs is ours.
    "large_frozen": Recipe("large_frozen", "large", True, 12, 5e-4, 4, 0.5, CLASS_WEIGHTS_LARGE_TRAIN),
    "large_finetune": Recipe("large_finetune", "large", False, 6, 1e-5, 2, 0.5,
                             CLASS_WEIGHTS_LARGE_FINETUNE, init_from="large_frozen"),
    "small_frozen": Recipe("small_frozen", "small", True, 15, 1e-3, 3, 0.5, CLASS_WEIGHTS_SMALL_TRAIN),
    "small_finetune": Recipe("small_finetune", "small", False, 6, 1e-3 / 16, 3, 0.5,
                             CLASS_WEIGHTS_SMALL_FINETUNE, init_from="small_frozen"),
}

# Which notebook produces each stage's run folder (for "run this first" messages).
NOTEBOOK_OF_STAGE = {
    "large_frozen": "02_large_training.ipynb",
    "large_finetune": "03_large_finetuning.ipynb",
    "small_frozen": "04_small_training.ipynb",
    "small_finetune": "05_small_finetuning.ipynb",
}
