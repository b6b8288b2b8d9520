"""DataLoaders that feed uint8 batches and augment them as whole batches (see `augment.py`)."""

from torch.utils.data import DataLoader, default_collate

from .augment import BatchAugment
from .dataset import AugmentedDataset


class AugmentingCollate:
    """Collate uint8 images into a batch, then run a BatchAugment on it (in the loader's worker)."""

    def __init__(self, augment):
        self.augment = augment

    def __call__(self, samples):
        images, labels = default_collate(samples)
        return self.augment(images), labels


class DeviceAugmentLoader:
    """Wraps a uint8 DataLoader: moves each batch to `device` and augments it there (for GPUs)."""

    def __init__(self, loader, augment, device):
        self.loader, self.augment, self.device = loader, augment.to(device), device
        self.dataset, self.batch_size = loader.dataset, loader.batch_size

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for images, labels in self.loader:
            yield self.augment(images.to(self.device, non_blocking=True)), labels


def default_num_workers(device):
    """Loader workers: two on a CUDA GPU, none on the CPU or Apple's MPS.

    On the CPU the training step already keeps every core busy; a worker process only competes
    with it (measured on 2 cores: epochs 2.7x slower with one or two workers than augmenting in the
    main process; see docs/performance.md and `python -m skinkit bench`). On a GPU the workers just
    collate uint8 batches.
    MPS means macOS, where workers are spawned afresh each epoch and each gets a pickled copy of
    the in-memory images; the main process is the safe choice there (not measured on a Mac).
    """
    return 2 if device.type == "cuda" else 0


def make_loader(dataset, augment, batch_size, device, shuffle=False, generator=None,
                num_workers=None):
    """A loader yielding (normalised float images, labels) batches ready for `device`."""
    num_workers = default_num_workers(device) if num_workers is None else num_workers
    on_device = device.type != "cpu"
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
        # Workers are re-created each epoch from `generator`, so a resumed run draws the same
        # augmentations as an uninterrupted one (persistent workers would carry hidden RNG state).
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
        collate_fn=default_collate if on_device else AugmentingCollate(augment),
    )
    return DeviceAugmentLoader(loader, augment, device) if on_device else loader


def stage_loaders(train_set, val_set, model_name, image_size, device, train_batch_size=50,
                  val_batch_size=25, oversampling=None, generator=None, num_workers=None):
    """(train, validation) loaders: oversampled and augmented for training, plain for validation."""
    train = make_loader(AugmentedDataset(train_set, weights=oversampling),
                        BatchAugment(model_name, image_size, train=True), train_batch_size,
                        device, shuffle=True, generator=generator, num_workers=num_workers)
    val = make_loader(val_set, BatchAugment(model_name, image_size, train=False), val_batch_size,
                      device, num_workers=num_workers)
    return train, val
