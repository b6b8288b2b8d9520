"""One real training epoch against the pure compute time of the same batches, per worker count."""

from functools import partial

import torch

from ..data.dataset import AugmentedDataset
from ..data.loaders import default_num_workers, stage_loaders
from ..training.loop import to_device, train_one_epoch
from ..training.models import build_model
from ..training.recipes import RECIPES
from ..training.stage import recipe_objects
from .timing import alternate, best_seconds

WORKER_COUNTS = (0, 1, 2)


def epoch_loader(train_set, sizes, device, num_workers):
    """The kit's small_frozen training loader (`stage_loaders`) over the cycled training set."""
    recipe = RECIPES["small_frozen"]
    cycled = AugmentedDataset(train_set, length=max(1, round(len(train_set) * sizes.epoch_repeats)))
    train, _ = stage_loaders(cycled, train_set, recipe.model, sizes.image_size, device,
                             sizes.batch_size, recipe.val_batch_size, recipe.oversampling,
                             torch.Generator().manual_seed(0), num_workers)
    return train


def epoch_model(device):
    """The small_frozen model, loss and optimiser, ready to train on `device`."""
    recipe = RECIPES["small_frozen"]
    model = to_device(build_model(recipe.model, pretrained=False, freeze_base=True), device)
    return (model, *recipe_objects(recipe, model, device)[:2])


def measure_epochs(train_set, sizes, device):
    """Epoch seconds per worker count, the pure compute seconds of the same batches, batch count.

    The headline pair (default workers vs pure compute) alternates for many rounds; the other
    worker counts, only there to show why the default was chosen, run `worker_rounds` times.
    """
    model, criterion, optimizer = epoch_model(device)
    loaders = {workers: epoch_loader(train_set, sizes, device, workers) for workers in WORKER_COUNTS}
    default = default_num_workers(device)
    batches = list(loaders[default])  # materialised before any timing

    def epoch_run(source):
        return partial(train_one_epoch, model, source, criterion, optimizer, device, progress=False)

    epoch_run(batches[:1])()  # warm-up step
    headline = alternate({"pure": epoch_run(batches), default: epoch_run(loaders[default])},
                         device, sizes.epoch_rounds, sizes.epoch_budget_s)
    others = alternate({workers: epoch_run(loaders[workers]) for workers in WORKER_COUNTS
                        if workers != default}, device, sizes.worker_rounds)
    timings = {**headline, **others}
    by_workers = {workers: best_seconds(timings[workers]) for workers in WORKER_COUNTS}
    return by_workers, best_seconds(timings["pure"]), len(batches)
