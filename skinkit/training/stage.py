"""A training stage into its run folder: the recipe's objects, `train_model` with resume, the finished stage."""

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import torch
import torchvision
from torch import nn

from ..classes import CLASS_CODES
from ..data.dataset import SkinLesionDataset, list_labelled_images
from ..data.loaders import stage_loaders
from ..errors import KitError
from ..files import read_json, write_csv, write_json
from ..metrics import classification_table, confusion_matrix, labels_from_confusion, metrics_report
from .loop import TrainingResult, device_named, fit, predict_probabilities, seed_everything, to_device
from .models import build_model, count_parameters, set_base_trainable
from .precision import Precision, precision_for
from .recipes import IMAGE_SIZE, NOTEBOOK_OF_STAGE
from .resume import checkpoint_state, loader_generator, previous_run, restore, same_run
from .run_folders import (
    HISTORY_SERIES,
    data_fingerprint,
    history_frame,
    load_checkpoint,
    read_confusion,
    read_history,
    save_checkpoint,
)
from .saved_predictions import predictions_path, write_predictions

FINISHED_FILES = ("config.json", "metrics.json", "best.pt", "history.csv")


class MissingPrerequisite(KitError, RuntimeError):
    """A stage needs the results of an earlier notebook that has not been run."""

    title = "Run the earlier notebook first"


@dataclass
class StageResult:
    """A finished stage: its folder, the best model, training history and validation results."""

    run_dir: Path
    config: dict
    model: nn.Module
    training: TrainingResult
    metrics: dict
    confusion: object
    table: object
    train_images: int = None

    @property
    def history(self):
        """Per-epoch history as a DataFrame (as in history.csv)."""
        return history_frame(self.training)


def require_stage(runs_root, stage):
    """The run folder of a finished `stage`, or MissingPrerequisite naming the notebook to run."""
    run_dir = Path(runs_root) / stage
    if not (run_dir / "best.pt").is_file() or not (run_dir / "metrics.json").is_file():
        raise MissingPrerequisite(
            f"No finished '{stage}' run in {run_dir}. Run notebooks/{NOTEBOOK_OF_STAGE[stage]} "
            f"first (with the same data and run folder).")
    return run_dir


def load_stage_model(runs_root, stage):
    """The best model of a finished stage, and that stage's config."""
    run_dir = require_stage(runs_root, stage)
    checkpoint = load_checkpoint(run_dir / "best.pt")
    model = build_model(checkpoint["architecture"], pretrained=False)
    model.load_state_dict(checkpoint["state_dict"])
    config = read_json(run_dir / "config.json")
    model.pretrained = config["pretrained"]
    return model, config


def build_stage(recipe, runs_root, device, pretrained="auto"):
    """(model, criterion, optimizer, scheduler) of `recipe`: the objects notebooks 02-05 build in their cells.

    The model is ImageNet MobileNetV3 with the project report's head (base frozen when the recipe
    says), or the best model of the recipe's `init_from` stage; `model.pretrained` tells which weights it began with.
    """
    if recipe.init_from is None:
        model = build_model(recipe.model, pretrained=pretrained, freeze_base=recipe.freeze_base)
    else:
        model, _ = load_stage_model(runs_root, recipe.init_from)
        set_base_trainable(model, not recipe.freeze_base)
    model = to_device(model, device)
    return (model, *recipe_objects(recipe, model, device))


def recipe_objects(recipe, model, device):
    """The recipe's class-weighted cross-entropy, Adam over the model's trainable parameters, and StepLR."""
    criterion = nn.CrossEntropyLoss(weight=torch.tensor(recipe.class_weights, device=device))
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=recipe.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=recipe.step_size, gamma=recipe.gamma)
    return criterion, optimizer, scheduler


def stage_config(recipe, data_root, seed, image_size, pretrained):
    """What defines a run before its objects exist, as plain JSON data (train_model completes config.json)."""
    return {
        **{k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(recipe).items()},
        "seed": seed, "image_size": image_size, "pretrained": bool(pretrained),
        "data_root": str(Path(data_root).resolve()), "data_fingerprint": data_fingerprint(data_root),
        "torch": str(torch.__version__), "torchvision": str(torchvision.__version__),
        "created": datetime.now().isoformat(timespec="seconds"),
    }


def described_objects(model, criterion, optimizer, scheduler, n_epochs, select_by):
    """What config.json records from the objects a stage trains with: they win over the recipe's values."""
    weight = getattr(criterion, "weight", None)
    step_lr = isinstance(scheduler, torch.optim.lr_scheduler.StepLR)
    rates = [group.get("initial_lr", group["lr"]) for group in optimizer.param_groups]
    return {
        "epochs": n_epochs, "select_by": select_by, "optimizer": type(optimizer).__name__,
        "lr": rates[0] if len(set(rates)) == 1 else rates,  # one rate per parameter group when they differ
        "scheduler": type(scheduler).__name__ if scheduler else None,
        "step_size": scheduler.step_size if step_lr else None, "gamma": scheduler.gamma if step_lr else None,
        "class_weights": None if weight is None else [round(float(w), 6) for w in weight.tolist()],
        "label_smoothing": float(getattr(criterion, "label_smoothing", 0.0)),
        "trainable_parameters": count_parameters(model, trainable_only=True),
    }


def train_images(config):
    """How many training images the run's data root holds (None when it is not there any more)."""
    train = Path(config.get("data_root", "")) / "train"
    return len(list_labelled_images(train)) if "data_root" in config and train.is_dir() else None


def save_epoch(run_dir, config, result, objects):
    """After each epoch: (when it improved) best.pt, last.pt, then history.csv, each atomic.

    history.csv comes last: an epoch it lists is always in last.pt, whenever the run is killed.
    """
    if result.best_epoch == len(result.loss_list) - 1:
        save_checkpoint_best(run_dir, config, result)
    save_checkpoint_last(run_dir, config, result, objects)
    write_csv(run_dir / "history.csv", history_frame(result), index=False)


def save_checkpoint_best(run_dir, config, result):
    """best.pt: the kept epoch's weights with what is needed to rebuild the model."""
    save_checkpoint(run_dir / "best.pt", {
        "state_dict": result.best_state, "architecture": config["model"], "stage": config["stage"],
        "epoch": result.best_epoch + 1, "select_by": config["select_by"], "class_codes": list(CLASS_CODES)})


def save_checkpoint_last(run_dir, config, result, objects):
    """last.pt: everything needed to continue after this epoch."""
    save_checkpoint(run_dir / "last.pt", checkpoint_state(config, result, *objects))


def finish_stage(run_dir, config, result, val_loader, device, precision=None):
    """Evaluate the best model on validation; write its predictions, metrics and confusion matrix."""
    y_true, probabilities = predict_probabilities(result.model, val_loader, device, precision)
    write_predictions(predictions_path(run_dir, "val"), val_loader.dataset.img_labels["file"], y_true,
                      probabilities)
    y_pred = probabilities.argmax(axis=1)
    metrics = {**metrics_report(y_true, y_pred), "best_epoch": result.best_epoch + 1}
    confusion = confusion_matrix(y_true, y_pred)
    write_json(run_dir / "metrics.json", metrics)
    write_csv(run_dir / "confusion_matrix.csv", confusion, index_label="true")
    return StageResult(run_dir, config, result.model, result, metrics, confusion,
                       classification_table(y_true, y_pred), train_images(config))


def finished_config(run_dir, config):
    """The config.json of a finished run of these settings in `run_dir`, or None."""
    if not all((run_dir / name).is_file() for name in FINISHED_FILES):
        return None
    saved = read_json(run_dir / "config.json")
    return saved if same_run(saved, config) else None


def load_finished(run_dir, config):
    """A StageResult read from a finished run folder; no file in it is written."""
    model, _ = load_stage_model(run_dir.parent, run_dir.name)
    history = read_history(run_dir / "history.csv")
    metrics = read_json(run_dir / "metrics.json")
    training = TrainingResult(**{series: history[column].tolist() for column, series in HISTORY_SERIES.items()},
                              best_epoch=metrics["best_epoch"] - 1, model=model)
    confusion = read_confusion(run_dir / "confusion_matrix.csv")
    return StageResult(run_dir, config, model, training, metrics, confusion,
                       classification_table(*labels_from_confusion(confusion)), train_images(config))


def train_model(model, train_loader, validation_loader, criterion, optimizer, scheduler=None, n_epochs=10,
                device=None, result=None, on_epoch_end=None, keep_models=True, select_by="balanced_accuracy",
                name=None, precision=None, run_dir=None, config=None, resume=True):
    """Train for `n_epochs`, validating each epoch, keeping the epoch with the best validation `select_by`.

    Without `run_dir`: the plain loop (`loop.fit`); returns a TrainingResult with the kept model loaded.
    With `run_dir`: config.json records `config` (see `stage_config`) completed from the objects
    themselves (loss weights, optimizer, learning rate, schedule, epochs, trainable parameters, device
    and precision); each epoch writes history.csv, last.pt and best.pt; a finished run of the same
    config is loaded, not retrained; with `resume`, an interrupted one continues from last.pt (a run
    of other settings is moved aside to `<run_dir>-<date>`). The end writes metrics.json,
    confusion_matrix.csv and predictions_val.csv, and a StageResult is returned.
    `precision`: auto (from the hardware, see `precision`), fp32, bf16, fp16 or a Precision.
    """
    device = device if isinstance(device, torch.device) else device_named(device)
    precision = precision if isinstance(precision, Precision) else precision_for(device, precision or "auto")
    if run_dir is None:
        return fit(model, train_loader, validation_loader, criterion, optimizer, scheduler, n_epochs, device,
                   result, on_epoch_end, keep_models, select_by, name or "train", precision)
    run_dir, model = Path(run_dir), to_device(model, device)  # on the device before any state is restored
    name = name or run_dir.name
    config = {"stage": run_dir.name, **(config or {}), "device": str(device), "precision": precision.name,
              **described_objects(model, criterion, optimizer, scheduler, n_epochs, select_by)}
    finished = resume and finished_config(run_dir, config)
    if finished:
        print(f"{name} already finished — loaded from {run_dir} (to retrain: set RESUME = False, "
              f"pass --no-resume, or delete the folder)")
        return load_finished(run_dir, finished)
    objects = (model, optimizer, scheduler, loader_generator(train_loader), precision.scaler)
    checkpoint = previous_run(run_dir, config, resume)
    if checkpoint:
        result = restore(checkpoint, *objects)
        print(f"{name}: continuing from {run_dir / 'last.pt'} after epoch {len(result.loss_list)} of {n_epochs} "
              f"(an interrupted run of the same settings; RESUME = False or --no-resume starts over)")
    write_json(run_dir / "config.json", config)
    result = fit(model, train_loader, validation_loader, criterion, optimizer, scheduler, n_epochs, device,
                 result, lambda r: save_epoch(run_dir, config, r, objects), False, select_by, name, precision)
    return finish_stage(run_dir, config, result, validation_loader, device, precision)


def run_stage(recipe, data_root, runs_root, seed=0, image_size=IMAGE_SIZE, pretrained="auto", resume=True,
              device=None, num_workers=None, precision="auto"):
    """Train `recipe` on `data_root` into `runs_root/<stage>/` as its notebook does; resume from last.pt if `resume`.

    `precision`: auto (chosen from the hardware, see `skinkit.training.precision`), fp32, bf16 or fp16.
    """
    device = device if isinstance(device, torch.device) else device_named(device)
    precision = precision_for(device, precision)  # an impossible choice stops before anything is loaded
    image_size = image_size or IMAGE_SIZE
    seed_everything(seed)
    train_set = SkinLesionDataset(Path(data_root) / "train")
    val_set = SkinLesionDataset(Path(data_root) / "val")
    model, criterion, optimizer, scheduler = build_stage(recipe, runs_root, device, pretrained)
    train_loader, val_loader = stage_loaders(
        train_set, val_set, recipe.model, image_size, device, recipe.train_batch_size, recipe.val_batch_size,
        recipe.oversampling, torch.Generator().manual_seed(seed), num_workers)
    config = stage_config(recipe, data_root, seed, image_size, model.pretrained)
    return train_model(model, train_loader, val_loader, criterion, optimizer, scheduler, recipe.epochs, device,
                       select_by=recipe.select_by, precision=precision, run_dir=Path(runs_root) / recipe.stage,
                       config=config, resume=resume)
