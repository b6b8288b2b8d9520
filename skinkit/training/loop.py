"""Seeding, device choice and the shared training loop (`fit`; `stage.train_model` adds the run folder)."""

import contextlib
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import torch

from ..errors import KitError
from ..metrics import summary_metrics
from ..progress import progress_bar, write_line
from .allocator import freed_memory_kept
from .precision import allow_tf32, precision_for


def seed_everything(seed):
    """Seed Python, NumPy and torch (all devices) so a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def pick_device():
    """CUDA if present, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class DeviceError(KitError, ValueError):
    """A device was asked for that this machine does not have."""

    title = "Device not available"


def device_named(name):
    """The torch.device called `name` (None: the best available), checked to exist on this machine."""
    if name is None:
        return pick_device()
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"{name!r} is not a device name; use cuda, mps or cpu (or leave the device out "
                          "for the best available)") from None
    present = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not present.get(device.type, False):
        raise DeviceError(f"this machine has no {device.type} device; use {pick_device().type} (or leave the "
                          "device out for the best available)")
    return device


def memory_format(device):
    """channels_last (faster for these convnets) on CPUs and CUDA GPUs; the default layout on MPS.

    MPS has had silent wrong results with channels_last tensors (pytorch/pytorch#174345, open), and
    its speed there was never measured for this kit.
    """
    return torch.contiguous_format if device.type == "mps" else torch.channels_last


def to_device(model, device):
    """Move a model to `device` in the layout `memory_format` picks for it."""
    return model.to(device=device, memory_format=memory_format(device))


@contextlib.contextmanager
def speed_settings(device):
    """Speed settings while training on `device`: TF32 on CUDA; on the CPU, freed memory kept for reuse.

    Yields True when the CPU allocator setting (see `allocator`) is in effect; it ends with the block.
    """
    if device.type == "cuda":
        allow_tf32()
    with freed_memory_kept(device.type == "cpu") as kept:
        yield kept


def batch_to_device(images, labels, device):
    """Move one batch to `device`, images in the layout `memory_format` picks."""
    images = images.to(device, non_blocking=True, memory_format=memory_format(device))
    return images, labels.to(device, non_blocking=True)


@dataclass
class TrainingResult:
    """What `train_model` returns: per-epoch history, the best weights and timing."""

    accuracy_list: list = field(default_factory=list)
    loss_list: list = field(default_factory=list)
    lr_list: list = field(default_factory=list)
    seconds_list: list = field(default_factory=list)
    balanced_accuracy_list: list = field(default_factory=list)
    macro_f1_list: list = field(default_factory=list)
    best_epoch: int = -1
    best_state: dict = None
    models_list: list = field(default_factory=list)
    start_time: datetime = None
    end_time: datetime = None
    model: torch.nn.Module = None

    def kept_epoch(self, select_by):
        """The epoch (0-based) that `select_by` keeps among those trained so far (see `kept_epoch`)."""
        return kept_epoch(getattr(self, f"{select_by}_list"), self.loss_list)

    def record(self, loss, scores, lr, seconds):
        """Append one epoch's training loss, validation scores, learning rate and duration."""
        for series, value in ((self.loss_list, loss), (self.accuracy_list, scores["accuracy"]),
                              (self.balanced_accuracy_list, scores["balanced_accuracy"]),
                              (self.macro_f1_list, scores["macro_f1"]), (self.lr_list, lr),
                              (self.seconds_list, seconds)):
            series.append(value)


def kept_epoch(scores, losses):
    """Index of the epoch to keep: the highest validation score, a tie going to the lower training loss."""
    return max(range(len(scores)), key=lambda epoch: (scores[epoch], -losses[epoch], -epoch))


def cpu_state(model):
    """A detached CPU copy of the model's state dict."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def train_step(model, images, labels, criterion, optimizer, precision):
    """One optimisation step on one batch (forward in `precision`, backward, update); returns the loss tensor."""
    with precision.autocast():
        loss = criterion(model(images), labels)
    optimizer.zero_grad(set_to_none=True)
    precision.backward_and_step(loss, optimizer)
    return loss


def train_one_epoch(model, loader, criterion, optimizer, device, description="train", progress=True,
                    precision=None):
    """One pass over `loader`; returns the mean training loss per sample (`precision`: see train_model)."""
    precision = precision or precision_for(device)
    model.train()
    total_loss, seen = 0.0, 0
    with speed_settings(device):
        for images, labels in progress_bar(loader, desc=description, leave=False, disable=not progress):
            images, labels = batch_to_device(images, labels, device)
            loss = train_step(model, images, labels, criterion, optimizer, precision)
            total_loss += loss.item() * len(labels)
            seen += len(labels)
    return total_loss / seen


@torch.inference_mode()
def predict_probabilities(model, loader, device, precision=None):
    """(true labels, softmax probabilities (N, 7)) as NumPy arrays over a whole loader."""
    precision = precision or precision_for(device)
    model.eval()
    true, probabilities = [], []
    with speed_settings(device):
        for images, labels in loader:
            images, _ = batch_to_device(images, labels, device)
            with precision.autocast():
                logits = model(images)
            probabilities.append(logits.float().softmax(dim=1).cpu())
            true.append(labels)
    return torch.cat(true).numpy(), torch.cat(probabilities).numpy()


def predict_labels(model, loader, device, precision=None):
    """(true labels, predicted labels) as NumPy arrays over a whole loader."""
    y_true, probabilities = predict_probabilities(model, loader, device, precision)
    return y_true, probabilities.argmax(axis=1)


def validation_scores(model, loader, device, precision=None):
    """Accuracy, balanced accuracy and macro-F1 from one pass over `loader`."""
    return summary_metrics(*predict_labels(model, loader, device, precision))


def epoch_line(name, epoch, n_epochs, loss, scores, lr, seconds):
    """One plain-text line per epoch: it stays in a saved notebook when the progress bars are gone."""
    return (f"{name} epoch {epoch}/{n_epochs}: train loss {loss:.4f}, val accuracy {scores['accuracy']:.3f}, "
            f"balanced {scores['balanced_accuracy']:.3f}, lr {lr:.3g}, {seconds:.0f} s")


def step_scheduler(scheduler, val_accuracy):
    """Step StepLR-style schedulers each epoch; ReduceLROnPlateau gets the validation accuracy."""
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(val_accuracy)
    elif scheduler is not None:
        scheduler.step()


def fit(model, train_loader, validation_loader, criterion, optimizer, scheduler=None, n_epochs=10, device=None,
        result=None, on_epoch_end=None, keep_models=True, select_by="balanced_accuracy", name="train",
        precision=None):
    """Train for `n_epochs`, validating each epoch; returns a TrainingResult with the kept model loaded.

    The kept epoch has the highest validation `select_by` score ("balanced_accuracy" or
    "accuracy"), a tie going to the lower training loss. `result` continues an interrupted run
    (epochs already in it are skipped); `on_epoch_end(result)` is called after every epoch, e.g.
    to write a checkpoint. `name` labels the progress bar and the printed line of each epoch.
    `precision`: a `precision.Precision` (default: the one `precision_for(device)` picks), whose
    gradient scaler lives across epochs.
    """
    device = device or pick_device()
    precision = precision or precision_for(device)
    model = to_device(model, device)
    if isinstance(criterion, torch.nn.Module):
        criterion.to(device)  # a class-weight tensor built on the CPU follows the model
    result = result or TrainingResult(start_time=datetime.now())
    done = len(result.loss_list)
    with speed_settings(device):
        for epoch in progress_bar(range(done, n_epochs), desc=f"{name} epochs", initial=done, total=n_epochs):
            started = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            loss = train_one_epoch(model, train_loader, criterion, optimizer, device, f"epoch {epoch + 1}",
                                   precision=precision)
            scores = validation_scores(model, validation_loader, device, precision)
            step_scheduler(scheduler, scores["accuracy"])
            result.record(loss, scores, lr, time.perf_counter() - started)
            if result.kept_epoch(select_by) == epoch:
                result.best_epoch, result.best_state = epoch, cpu_state(model)
            if keep_models:
                result.models_list.append(cpu_state(model))
            write_line(epoch_line(name, epoch + 1, n_epochs, loss, scores, lr, result.seconds_list[-1]))
            if on_epoch_end:
                on_epoch_end(result)
    result.end_time = datetime.now()
    model.load_state_dict(result.best_state)
    result.model = model
    return result
