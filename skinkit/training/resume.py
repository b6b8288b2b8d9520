"""Continuing an interrupted run exactly: what last.pt holds, when two configs are one run, moving old runs aside."""

import math
import warnings
from datetime import datetime

import torch

from ..errors import RunMovedAsideWarning, plain_kit_warnings
from .loop import TrainingResult, cpu_state
from .recipes import IMAGE_SIZE
from .run_folders import HISTORY_SERIES, load_checkpoint

# Config keys that may change between an interrupted run and its resumption. The precision follows
# the hardware like the device (and run folders from before it was recorded still resume).
NOT_COMPARED_ON_RESUME = {"device", "precision", "torch", "torchvision", "created"}
# Settings older run folders lack, with the value those runs used (they kept the best accuracy).
OLD_RUN_DEFAULTS = {"select_by": "accuracy", "optimizer": "Adam", "scheduler": "StepLR", "label_smoothing": 0.0}
# Compared only when both configs record it (older run folders do not).
COMPARED_WHEN_RECORDED = {"trainable_parameters"}


def compared_settings(config, other):
    """The settings of `config` that decide whether it and `other` are the same run."""
    settings = {**OLD_RUN_DEFAULTS, **config}
    settings["image_size"] = settings.get("image_size") or IMAGE_SIZE  # older kits recorded None for it
    return {k: v for k, v in settings.items()
            if k not in NOT_COMPARED_ON_RESUME and (k not in COMPARED_WHEN_RECORDED or k in other)}


def same_run(config, other):
    """True when two configs describe the same run (devices and versions may differ)."""
    return compared_settings(config, other) == compared_settings(other, config)


def archive(run_dir):
    """Rename an existing run folder aside (never delete a student's results) and say where."""
    target = run_dir.with_name(f"{run_dir.name}-{datetime.now():%Y%m%d-%H%M%S}")
    run_dir.rename(target)
    with plain_kit_warnings():
        warnings.warn(f"{run_dir} held a run with other settings; it was moved aside to {target.name} "
                      "(nothing is deleted).", RunMovedAsideWarning, stacklevel=4)


def checkpoint_state(config, result, model, optimizer, scheduler, generator, scaler):
    """Everything needed to continue training after the last finished epoch (last.pt)."""
    return {
        "config": config, "model": cpu_state(model), "optimizer": optimizer.state_dict(),
        "grad_scaler": scaler.state_dict(),  # empty unless fp16
        "scheduler": scheduler.state_dict() if scheduler else {}, "best_epoch": result.best_epoch,
        "best_state": result.best_state, "start_time": result.start_time.isoformat(),
        "history": {series: getattr(result, series) for series in HISTORY_SERIES.values()},
        "torch_rng": torch.get_rng_state(), "loader_rng": generator.get_state() if generator else None,
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore(checkpoint, model, optimizer, scheduler, generator, scaler):
    """Load last.pt's state into the training objects; returns the TrainingResult so far."""
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler:
        scheduler.load_state_dict(checkpoint["scheduler"])
    if scaler.is_enabled() and checkpoint.get("grad_scaler"):
        scaler.load_state_dict(checkpoint["grad_scaler"])
    torch.set_rng_state(checkpoint["torch_rng"])
    if generator is not None and checkpoint.get("loader_rng") is not None:
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


def loader_generator(loader):
    """The torch.Generator a training loader shuffles with (through the kit's GPU wrapper), or None."""
    return getattr(getattr(loader, "loader", loader), "generator", None)
