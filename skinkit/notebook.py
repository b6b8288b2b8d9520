"""Notebook set-up: settings from the parameters cell and the environment, printed for the record."""

import dataclasses
import os
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import torch

from .classes import CLASS_CODES
from .data.dataset import SkinLesionDataset, check_data_root
from .data.loaders import stage_loaders
from .files import project_root
from .training.loop import pick_device
from .training.recipes import IMAGE_SIZE, RECIPES
from .training.stage import require_stage, stage_config

SMOKE_EPOCHS = 1
SMOKE_IMAGE_SIZE = 64
KEY_PACKAGES = ("torch", "torchvision", "scikit-learn", "pandas", "matplotlib", "seaborn")
# What to do when the data root is not a dataset, by where the data root came from.
DATA_ADVICE = {
    "SKINKIT_DATA": "point SKINKIT_DATA at one (`python -m skinkit prepare` builds it), "
                    "or unset SKINKIT_DATA to use the bundled sample",
    "the parameters cell": "set DATA_ROOT in the parameters cell to one, or to None for the default",
    None: "rebuild it with `python -m skinkit prepare` (see data/README.md)",
}


def smoke_from_env():
    """True when SKINKIT_SMOKE asks for CI-sized runs (1, true or yes)."""
    return os.environ.get("SKINKIT_SMOKE", "").strip().lower() in {"1", "true", "yes"}


def default_data_root(root, smoke):
    """SKINKIT_DATA, else data/course when present (never in smoke mode), else the bundled sample."""
    if os.environ.get("SKINKIT_DATA"):
        return Path(os.environ["SKINKIT_DATA"]), "SKINKIT_DATA"
    if not smoke and (root / "data" / "course").is_dir():
        return root / "data" / "course", "the course dataset (data/course)"
    return root / "data" / "sample", "the bundled sample (data/sample): a few real images per class"


def default_runs_root(root, smoke):
    """SKINKIT_RUNS, else runs/ (runs/smoke/ in smoke mode, so CI never touches real results)."""
    if os.environ.get("SKINKIT_RUNS"):
        return Path(os.environ["SKINKIT_RUNS"])
    return root / "runs" / "smoke" if smoke else root / "runs"


@dataclass
class Settings:
    """What a notebook runs with; `recipe` already carries any overrides from the parameters cell."""

    smoke: bool
    data_root: Path
    runs_root: Path
    seed: int
    image_size: int
    resume: bool
    recipe: object = None

    @property
    def run_dir(self):
        """This notebook's run folder: <runs>/<stage>."""
        return self.runs_root / self.recipe.stage

    def config(self, pretrained):
        """What config.json records of these settings; `train_model` adds what the objects themselves say."""
        return stage_config(self.recipe, self.data_root, self.seed, self.image_size, pretrained)

    def loaders(self, device, num_workers=None):
        """(train, validation) loaders: the training images oversampled and augmented in whole batches."""
        recipe = self.recipe
        train_set, val_set = (SkinLesionDataset(self.data_root / split) for split in ("train", "val"))
        return stage_loaders(train_set, val_set, recipe.model, self.image_size, device, recipe.train_batch_size,
                             recipe.val_batch_size, recipe.oversampling, torch.Generator().manual_seed(self.seed),
                             num_workers)


def stage_recipe(stage, smoke, **overrides):
    """The stage's recipe with the notebook's overrides (None = keep), shrunk in smoke mode."""
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items() if v is not None}
    recipe = dataclasses.replace(RECIPES[stage], **overrides)
    return dataclasses.replace(recipe, epochs=min(recipe.epochs, SMOKE_EPOCHS)) if smoke else recipe


def setup(stage=None, smoke=None, data_root=None, runs_root=None, seed=0, image_size=IMAGE_SIZE,
          resume=True, requires=(), **overrides):
    """Resolve a notebook's settings, check earlier notebooks have run, and print what was chosen."""
    root = project_root()
    smoke = smoke_from_env() if smoke is None else smoke
    data_root, data_source = (Path(data_root), "the parameters cell") if data_root else default_data_root(root, smoke)
    runs_root = Path(runs_root) if runs_root else default_runs_root(root, smoke)
    recipe = stage_recipe(stage, smoke, **overrides) if stage else None
    check_data_root(data_root, ("train", "val") if recipe else ("train",),
                    DATA_ADVICE.get(data_source, DATA_ADVICE[None]))
    needed = [*requires, *([recipe.init_from] if recipe and recipe.init_from else [])]
    for earlier in needed:
        require_stage(runs_root, earlier)
    settings = Settings(smoke, data_root, runs_root, seed,
                        SMOKE_IMAGE_SIZE if smoke else image_size or IMAGE_SIZE, resume, recipe)
    print_settings(settings, data_source)
    return settings


def recipe_rows(settings):
    """(setting, value) pairs describing the stage this notebook trains, short enough for one line each."""
    recipe = settings.recipe
    return [
        ("stage", f"{recipe.stage} (MobileNetV3-{recipe.model.title()}, base "
                  f"{'frozen' if recipe.freeze_base else 'trainable'})"),
        ("starts from", f"best.pt of {recipe.init_from}" if recipe.init_from else "ImageNet weights (when available)"),
        ("epochs", recipe.epochs),
        ("learning rate", f"{recipe.lr:g} (Adam), x{recipe.gamma:g} every {recipe.step_size} epochs (StepLR)"),
        ("class weights", ", ".join(f"{code} {w:g}" for code, w in zip(CLASS_CODES, recipe.class_weights))),
        ("oversampling", ", ".join(f"{code} x{n:g}" for code, n in zip(CLASS_CODES, recipe.oversampling))),
        ("batch size", f"{recipe.train_batch_size} (training), {recipe.val_batch_size} (validation)"),
        ("kept epoch", f"highest validation {recipe.select_by.replace('_', ' ')}"),
        ("image size", settings.image_size),
        ("seed, resume", f"{settings.seed}, {settings.resume}"),
    ]


def print_settings(settings, data_source):
    """Print versions, device, data and run folders so every executed notebook records them."""
    print("  ".join(f"{name} {version(name)}" for name in KEY_PACKAGES))
    print(f"device: {pick_device()}  |  smoke mode: {'ON (tiny CI-sized run)' if settings.smoke else 'off'}")
    print(f"data: {settings.data_root}  <- {data_source}")
    print(f"runs: {settings.runs_root}")
    if settings.recipe:
        for name, value in recipe_rows(settings):
            print(f"  {name:<14} {value}")
