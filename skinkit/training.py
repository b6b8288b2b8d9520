"""Seeding, device choice and the shared `train_model` loop."""

import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import torch
from tqdm.auto import tqdm

from .allocator import keep_freed_memory


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


def to_device(model, device):
    """Move a model to `device` in channels_last layout, which is faster for these convnets."""
    return model.to(device=device, memory_format=torch.channels_last)


def autocast(device):
    """Mixed precision on CUDA only: bf16 autocast is several times slower on CPUs without bf16 units."""
    enabled = device.type == "cuda"
    dtype = torch.bfloat16 if enabled and torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device.type, dtype=dtype, enabled=enabled)


def prepare_device(device):
    """Process-wide speed settings for `device`: on the CPU, freed memory is reused (see `allocator`).

    Returns True when the CPU allocator setting is in effect.
    """
    return device.type == "cpu" and keep_freed_memory()


def batch_to_device(images, labels, device):
    """Move one batch to `device`, images in channels_last."""
    images = images.to(device, non_blocking=True, memory_format=torch.channels_last)
    return images, labels.to(device, non_blocking=True)


@dataclass
class TrainingResult:
    """What `train_model` returns: per-epoch history, the best weights and timing."""

    accuracy_list: list = field(default_factory=list)
    loss_list: list = field(default_factory=list)
    lr_list: list = field(default_factory=list)
    seconds_list: list = field(default_factory=list)
    best_epoch: int = -1
    best_state: dict = None
    models_list: list = field(default_factory=list)
    start_time: datetime = None
    end_time: datetime = None
    model: torch.nn.Module = None

    def is_better(self, accuracy, loss):
        """The seed's rule: higher validation accuracy, a tie going to the lower training loss."""
        if self.best_epoch < 0:
            return True
        best_accuracy, best_loss = self.accuracy_list[self.best_epoch], self.loss_list[self.best_epoch]
        return accuracy > best_accuracy or (accuracy == best_accuracy and loss < best_loss)


def cpu_state(model):
    """A detached CPU copy of the model's state dict."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def train_one_epoch(model, loader, criterion, optimizer, device, description="train", progress=True):
    """One pass over `loader`; returns the mean training loss per sample."""
    prepare_device(device)
    model.train()
    total_loss, seen = 0.0, 0
    for images, labels in tqdm(loader, desc=description, leave=False, disable=not progress):
        images, labels = batch_to_device(images, labels, device)
        with autocast(device):
            loss = criterion(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(labels)
        seen += len(labels)
    return total_loss / seen


@torch.inference_mode()
def predict_labels(model, loader, device):
    """(true labels, predicted labels) as NumPy arrays over a whole loader."""
    prepare_device(device)
    model.eval()
    true, predicted = [], []
    for images, labels in loader:
        images, _ = batch_to_device(images, labels, device)
        with autocast(device):
            predicted.append(model(images).argmax(dim=1).cpu())
        true.append(labels)
    return torch.cat(true).numpy(), torch.cat(predicted).numpy()


def accuracy(model, loader, device):
    """Fraction of correctly classified samples in `loader`."""
    true, predicted = predict_labels(model, loader, device)
    return float((true == predicted).mean())


def step_scheduler(scheduler, val_accuracy):
    """Step StepLR-style schedulers each epoch; ReduceLROnPlateau gets the validation accuracy."""
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(val_accuracy)
    elif scheduler is not None:
        scheduler.step()


def train_model(model, train_loader, validation_loader, criterion, optimizer, scheduler=None,
                n_epochs=10, device=None, result=None, on_epoch_end=None, keep_models=True):
    """Train for `n_epochs`, validating each epoch; returns a TrainingResult with the best model loaded.

    `result` continues an interrupted run (epochs already in it are skipped); `on_epoch_end(result)`
    is called after every epoch, e.g. to write a checkpoint.
    """
    device = device or pick_device()
    model = to_device(model, device)
    result = result or TrainingResult(start_time=datetime.now())
    epochs = tqdm(range(len(result.loss_list), n_epochs), desc="epochs", initial=len(result.loss_list),
                  total=n_epochs)
    for epoch in epochs:
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        loss = train_one_epoch(model, train_loader, criterion, optimizer, device, f"epoch {epoch + 1}")
        val_accuracy = accuracy(model, validation_loader, device)
        step_scheduler(scheduler, val_accuracy)
        if result.is_better(val_accuracy, loss):
            result.best_epoch, result.best_state = epoch, cpu_state(model)
        for series, value in ((result.loss_list, loss), (result.accuracy_list, val_accuracy),
                              (result.lr_list, lr), (result.seconds_list, time.perf_counter() - started)):
            series.append(value)
        if keep_models:
            result.models_list.append(cpu_state(model))
        epochs.set_postfix(loss=f"{loss:.4f}", val_acc=f"{val_accuracy:.3f}")
        if on_epoch_end:
            on_epoch_end(result)
    result.end_time = datetime.now()
    model.load_state_dict(result.best_state)
    result.model = model
    return result
