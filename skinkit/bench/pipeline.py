"""Augmented training images per second: the project report's per-sample pipeline against the kit's loader."""

import torch
from torch.utils.data import DataLoader, Dataset

from ..data.augment import BatchAugment
from ..data.dataset import AugmentedDataset, read_gray
from ..data.loaders import make_loader
from ..training.recipes import RECIPES
from .timing import alternate, best_rate


def report_transform(image_size=224):
    """The project report's per-sample training transform (torchvision transforms v1, on PIL images)."""
    from torchvision import transforms
    from torchvision.models import MobileNet_V3_Large_Weights

    preset = MobileNet_V3_Large_Weights.DEFAULT.transforms
    preprocessing = preset() if image_size == 224 else preset(
        crop_size=image_size, resize_size=round(image_size * 232 / 224))
    return transforms.Compose([
        transforms.ToPILImage(), transforms.Grayscale(3), transforms.RandomRotation(20),
        transforms.ColorJitter(brightness=0.3, contrast=0.3), transforms.ToTensor(),
        transforms.RandomHorizontalFlip(), transforms.RandomVerticalFlip(), preprocessing,
    ])


class ReportStyleDataset(Dataset):
    """The project report's dataset: every access reads and decodes the PNG file, then transforms it."""

    def __init__(self, augmented, transform):
        base = augmented.base
        self.paths = [base.root / base.img_labels["file"].iat[i] for i in augmented.indices]
        self.labels = list(augmented.img_labels["label"])
        self.transform = transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        return self.transform(read_gray(self.paths[index])), self.labels[index]


def endless_batches(loader):
    """The loader's batches, epoch after epoch."""
    while True:
        yield from loader


def batch_puller(loader, n_batches):
    """A function that pulls `n_batches` more batches from `loader` and returns their image count."""
    batches = endless_batches(loader)
    return lambda: sum(len(next(batches)[1]) for _ in range(n_batches))


def pipeline_loaders(train_set, sizes, device):
    """(report-style, kit) loaders over the same oversampled training samples, both num_workers=0."""
    augmented = AugmentedDataset(train_set, weights=RECIPES["large_frozen"].oversampling)
    generator = torch.Generator().manual_seed(0)
    report = DataLoader(ReportStyleDataset(augmented, report_transform(sizes.image_size)),
                        batch_size=sizes.batch_size, shuffle=True, generator=generator, num_workers=0)
    kit = make_loader(augmented, BatchAugment("large", sizes.image_size, train=True).to(device),
                      sizes.batch_size, device, shuffle=True, generator=generator, num_workers=0)
    return report, kit


def measure_pipeline(train_set, sizes, device):
    """Augmented training images per second: {"kit": ..., "report": ...}."""
    report_loader, kit_loader = pipeline_loaders(train_set, sizes, device)
    for loader in (report_loader, kit_loader):  # warm-up: one batch each
        next(iter(loader))
    runs = {"report": batch_puller(report_loader, sizes.report_batches),
            "kit": batch_puller(kit_loader, sizes.kit_batches)}
    timings = alternate(runs, device, sizes.pipeline_rounds)
    return {name: best_rate(timings[name]) for name in ("kit", "report")}
