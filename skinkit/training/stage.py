"""Run one training stage end to end into its run folder, resuming from `last.pt` if interrupted."""

import dataclasses
import math
import warnings
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
from ..files import read_json, save_figure, write_csv, write_json
from ..metrics import classification_table, confusion_matrix, labels_from_confusion, metrics_report
from ..reporting.chance import (
    ABOVE_CHANCE,
    CHANCE_BALANCED_ACCURACY,
    READING_MEANS,
    always_majority_accuracy,
    likely_causes,
    read_against_chance,
)
from ..reporting.intervals import CONFIDENCE
from ..reporting.plots import figure_label, plot_confusion_matrices
from ..reporting.predictions import predictions_path, write_predictions
from .loop import (
    TrainingResult,
    cpu_state,
    loss_and_optimizer,
    pick_device,
    predict_probabilities,
    seed_everything,
    to_device,
    train_model,
)
from .models import build_model, set_base_trainable
from .precision import precision_for
from .recipes import IMAGE_SIZE, NOTEBOOK_OF_STAGE
from .run_folders import (
    HISTORY_SERIES,
    data_fingerprint,
    epochs_against_recipe,
    history_frame,
    load_checkpoint,
    read_confusion,
    read_history,
    save_checkpoint,
)

# Config keys that may change between an interrupted run and its resumption. The precision follows
# the hardware like the device (and run folders from before it was recorded still resume).
NOT_COMPARED_ON_RESUME = {"device", "precision", "torch", "torchvision", "created"}
# Settings older run folders lack, with the value those runs used (they kept the best accuracy).
OLD_RUN_DEFAULTS = {"select_by": "accuracy"}


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
    train_images: int

    def figure_title(self, split=None):
        """'MobileNetV3-Large, frozen base · validation split · random init': what this stage's figures show."""
        name = (f"MobileNetV3-{self.config['model'].title()}, "
                f"{'frozen base' if self.config['freeze_base'] else 'fine-tuned'}")
        return figure_label(name, split, self.config["pretrained"])

    @property
    def history(self):
        """Per-epoch history as a DataFrame (as in history.csv)."""
        return history_frame(self.training)

    def summary(self):
        """The stage's result in words, read against chance (1/7, with its interval) and always answering `nv`."""
        balanced, low, high, reading = read_against_chance(*labels_from_confusion(self.confusion))
        always_nv = always_majority_accuracy(self.confusion.sum(axis=1).tolist())
        rule = self.config.get("select_by", OLD_RUN_DEFAULTS["select_by"]).replace("_", " ")
        lines = [f"{self.config['stage']}: kept epoch {self.metrics['best_epoch']} of {len(self.history)} "
                 f"(highest validation {rule})",
                 f"  validation balanced accuracy {balanced:.3f} ({CONFIDENCE:.0%} interval {low:.3f}-{high:.3f}, "
                 f"chance {CHANCE_BALANCED_ACCURACY:.3f})",
                 f"  validation accuracy {self.metrics['accuracy']:.3f} (always-nv {always_nv:.3f})"]
        if reading == ABOVE_CHANCE:
            return "\n".join([*lines, f"  {reading}: {READING_MEANS[reading]}"])
        causes = likely_causes(self.config["pretrained"], self.train_images,
                               epochs_against_recipe(self.run_dir.parent, self.config["stage"]))
        return "\n".join([*lines, f"  {reading.upper()}: {READING_MEANS[reading]}",
                          *(f"  - likely cause: {cause}" for cause in causes)])


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


def stage_model(recipe, runs_root, pretrained):
    """The model a stage starts from: ImageNet MobileNetV3, or the best model of `init_from`."""
    if recipe.init_from is None:
        return build_model(recipe.model, pretrained=pretrained, freeze_base=recipe.freeze_base)
    model, _ = load_stage_model(runs_root, recipe.init_from)
    return set_base_trainable(model, not recipe.freeze_base)


def stage_config(recipe, data_root, seed, image_size, device, pretrained, precision="fp32"):
    """Everything that defines a run, as plain JSON data (config.json)."""
    return {
        **{k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(recipe).items()},
        "seed": seed, "image_size": image_size, "pretrained": bool(pretrained),
        "data_root": str(Path(data_root).resolve()), "data_fingerprint": data_fingerprint(data_root),
        "device": str(device), "precision": precision,
        "torch": str(torch.__version__), "torchvision": str(torchvision.__version__),
        "created": datetime.now().isoformat(timespec="seconds"),
    }


def compared_settings(config):
    """The settings of a config that decide whether two runs are the same run."""
    settings = {**OLD_RUN_DEFAULTS, **config}
    settings["image_size"] = settings.get("image_size") or IMAGE_SIZE  # older kits recorded None for it
    return {k: v for k, v in settings.items() if k not in NOT_COMPARED_ON_RESUME}


def same_run(config, other):
    """True when two configs describe the same run (devices and versions may differ)."""
    return compared_settings(config) == compared_settings(other)


def archive(run_dir):
    """Rename an existing run folder aside (never delete a student's results) and say where."""
    target = run_dir.with_name(f"{run_dir.name}-{datetime.now():%Y%m%d-%H%M%S}")
    run_dir.rename(target)
    warnings.warn(f"{run_dir} held a run with other settings; it was moved to {target}.", stacklevel=3)


def checkpoint_state(config, result, model, optimizer, scheduler, generator, scaler):
    """Everything needed to continue training after the last finished epoch (last.pt)."""
    return {
        "config": config, "model": cpu_state(model), "optimizer": optimizer.state_dict(),
        "grad_scaler": scaler.state_dict(),  # empty unless fp16
        "scheduler": scheduler.state_dict(), "best_epoch": result.best_epoch,
        "best_state": result.best_state, "start_time": result.start_time.isoformat(),
        "history": {series: getattr(result, series) for series in HISTORY_SERIES.values()},
        "torch_rng": torch.get_rng_state(), "loader_rng": generator.get_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore(checkpoint, model, optimizer, scheduler, generator, scaler):
    """Load last.pt's state into the training objects; returns the TrainingResult so far."""
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    if scaler.is_enabled() and checkpoint.get("grad_scaler"):
        scaler.load_state_dict(checkpoint["grad_scaler"])
    torch.set_rng_state(checkpoint["torch_rng"])
    generator.set_state(checkpoint["loader_rng"])
    if checkpoint.get("cuda_rng") and torch.cuda.is_available():  # dropout on the GPU draws from these
        torch.cuda.set_rng_state_all(checkpoint["cuda_rng"])
    epochs = len(checkpoint["history"]["loss_list"])
    history = {series: [math.nan] * epochs for series in HISTORY_SERIES.values()} | checkpoint["history"]
    return TrainingResult(**history, best_epoch=checkpoint["best_epoch"],
                          best_state=checkpoint["best_state"],
                          start_time=datetime.fromisoformat(checkpoint["start_time"]))


def previous_run(run_dir, config, resume):
    """last.pt of an interrupted run with the same config, or None (other runs are archived)."""
    last = run_dir / "last.pt"
    if resume and last.is_file():
        checkpoint = load_checkpoint(last)
        if same_run(checkpoint["config"], config):
            return checkpoint
    if run_dir.exists() and any(run_dir.iterdir()):
        archive(run_dir)
    return None


def save_epoch(run_dir, config, result, model, optimizer, scheduler, generator, scaler):
    """After each epoch: history.csv, last.pt and (when it improved) best.pt, all atomic."""
    write_csv(run_dir / "history.csv", history_frame(result), index=False)
    if result.best_epoch == len(result.loss_list) - 1:
        save_checkpoint(run_dir / "best.pt", {
            "state_dict": result.best_state, "architecture": config["model"], "stage": config["stage"],
            "epoch": result.best_epoch + 1, "select_by": config["select_by"], "class_codes": list(CLASS_CODES)})
    save_checkpoint(run_dir / "last.pt",
                    checkpoint_state(config, result, model, optimizer, scheduler, generator, scaler))


def finish_stage(run_dir, config, result, val_loader, device, train_images, precision=None):
    """Evaluate the best model on validation; write its predictions, metrics and confusion matrix."""
    y_true, probabilities = predict_probabilities(result.model, val_loader, device, precision)
    write_predictions(predictions_path(run_dir, "val"), val_loader.dataset.img_labels["file"], y_true,
                      probabilities)
    y_pred = probabilities.argmax(axis=1)
    metrics = {**metrics_report(y_true, y_pred), "best_epoch": result.best_epoch + 1}
    confusion = confusion_matrix(y_true, y_pred)
    write_json(run_dir / "metrics.json", metrics)
    write_csv(run_dir / "confusion_matrix.csv", confusion, index_label="true")
    stage = StageResult(run_dir, config, result.model, result, metrics, confusion,
                        classification_table(y_true, y_pred), train_images)
    save_figure(run_dir / "confusion_matrix.png", plot_confusion_matrices(confusion, stage.figure_title("validation")))
    return stage


def finished_run(run_dir, recipe, data_root, seed, image_size, pretrained):
    """The config.json of a finished run of these settings in `run_dir`, or None."""
    if not all((run_dir / name).is_file() for name in ("config.json", "metrics.json", "best.pt", "history.csv")):
        return None
    saved = read_json(run_dir / "config.json")
    # "auto" accepts whichever weights the finished run had; they are named in its summary.
    wanted = stage_config(recipe, data_root, seed, image_size, saved.get("device"),
                          saved.get("pretrained") if pretrained == "auto" else pretrained)
    return saved if same_run(saved, wanted) else None


def load_finished(run_dir, config):
    """A StageResult read from a finished run folder; no file in it is written."""
    model, _ = load_stage_model(run_dir.parent, run_dir.name)
    history = read_history(run_dir / "history.csv")
    metrics = read_json(run_dir / "metrics.json")
    training = TrainingResult(**{series: history[column].tolist() for column, series in HISTORY_SERIES.items()},
                              best_epoch=metrics["best_epoch"] - 1, model=model)
    confusion = read_confusion(run_dir / "confusion_matrix.csv")
    train_images = len(list_labelled_images(Path(config["data_root"]) / "train"))
    return StageResult(run_dir, config, model, training, metrics, confusion,
                       classification_table(*labels_from_confusion(confusion)), train_images)


def run_stage(recipe, data_root, runs_root, seed=0, image_size=IMAGE_SIZE, pretrained="auto", resume=True,
              device=None, num_workers=None, precision="auto"):
    """Train `recipe` on `data_root` into `runs_root/<stage>/`; continue from last.pt when `resume`.

    `precision`: auto (chosen from the hardware, see `skinkit.training.precision`), fp32, bf16 or fp16.
    """
    device = torch.device(device) if device else pick_device()
    precision = precision_for(device, precision)
    image_size = image_size or IMAGE_SIZE
    run_dir = Path(runs_root) / recipe.stage
    finished = resume and finished_run(run_dir, recipe, data_root, seed, image_size, pretrained)
    if finished:
        print(f"{recipe.stage} already finished — loaded from {run_dir} (to retrain: set RESUME = False, "
              f"pass --no-resume, or delete the folder)")
        return load_finished(run_dir, finished)
    seed_everything(seed)
    train_set = SkinLesionDataset(Path(data_root) / "train")
    val_set = SkinLesionDataset(Path(data_root) / "val")
    model = to_device(stage_model(recipe, runs_root, pretrained), device)
    config = stage_config(recipe, data_root, seed, image_size, device, model.pretrained, precision.name)
    generator = torch.Generator().manual_seed(seed)
    train_loader, val_loader = stage_loaders(
        train_set, val_set, recipe.model, image_size, device, recipe.train_batch_size,
        recipe.val_batch_size, recipe.oversampling, generator, num_workers)
    criterion, optimizer = loss_and_optimizer(recipe, model, device)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, recipe.step_size, recipe.gamma)
    checkpoint = previous_run(run_dir, config, resume)
    result = checkpoint and restore(checkpoint, model, optimizer, scheduler, generator, precision.scaler)
    write_json(run_dir / "config.json", config)
    result = train_model(
        model, train_loader, val_loader, criterion, optimizer, scheduler, recipe.epochs, device,
        result=result, keep_models=False, select_by=recipe.select_by, name=recipe.stage, precision=precision,
        on_epoch_end=lambda r: save_epoch(run_dir, config, r, model, optimizer, scheduler, generator,
                                          precision.scaler))
    return finish_stage(run_dir, config, result, val_loader, device, len(train_set), precision)
