"""`python -m skinkit bench`: the kit's speed-ups over the seed notebook's pipeline, measured side by side.

Three measurements in one run, each timed in alternation (ABAB...) so that other work on the
machine hits both sides alike; the best run of each side is kept:

- pipeline: the seed's per-sample pipeline (PNG read and decoded on every access, PIL transforms,
  per-sample collation) against the kit's training loader (images decoded once into memory,
  whole-batch BatchAugment in the collate), both in the main process with num_workers=0;
- training step: the kit's step (channels_last model and input, autocast on CUDA only) against a
  plain NCHW fp32 step of the same model, for the four stages;
- epoch: one real small_frozen epoch through `stage_loaders` + `train_one_epoch` against the pure
  compute time of the same batches held in memory, and the epoch time with 0, 1 and 2 workers.

This is a benchmark, not a test: the goals are printed next to the measurements, never enforced.
"""

import argparse
import copy
import json
import math
import os
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


from .augment import BatchAugment
from .benchreport import build_report, format_report
from .data import AugmentedDataset, SkinLesionDataset, read_gray
from .loaders import default_num_workers, make_loader, stage_loaders
from .models import build_model
from .notebook import project_root
from .recipes import RECIPES
from .training import autocast, batch_to_device, pick_device, to_device, train_one_epoch

# Benchmark name of each training stage -> the recipe giving its model, freezing and loss weights.
TRAIN_STAGES = {"large_frozen": "large_frozen", "large_full": "large_finetune",
                "small_frozen": "small_frozen", "small_full": "small_finetune"}
WORKER_COUNTS = (0, 1, 2)


@dataclass(frozen=True)
class BenchSizes:
    """How much work each measurement does; the hidden --quick flag shrinks it all for tests."""

    batch_size: int = 50
    image_size: int = 224
    pipeline_rounds: int = 3
    seed_batches: int = 2  # per round
    kit_batches: int = 6  # per round
    train_rounds: int = 5
    train_steps_per_run: int = 1  # more on GPUs, where one step takes milliseconds
    train_budget_s: float = 12.0  # no new round once a stage has spent this long timing
    epoch_repeats: float = 4.0  # the train split cycled this many times (~10 batches of 50)
    epoch_rounds: int = 8  # real epoch with the default workers vs pure compute
    epoch_budget_s: float = 20.0
    worker_rounds: int = 1  # real epochs with the other worker counts (slow on CPUs)


FULL = BenchSizes()
QUICK = BenchSizes(batch_size=4, image_size=32, pipeline_rounds=1, seed_batches=1, kit_batches=2,
                   train_rounds=1, train_budget_s=0.0, epoch_repeats=0.2, epoch_rounds=1,
                   epoch_budget_s=0.0, worker_rounds=1)


STARTED = time.perf_counter()


def say(message):
    """A progress line on stderr (stdout stays for the results)."""
    print(f"[bench {time.perf_counter() - STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def synchronize(device):
    """Wait for queued GPU work so wall-clock timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed(run, device):
    """(seconds, result) of one call of `run`."""
    synchronize(device)
    start = time.perf_counter()
    result = run()
    synchronize(device)
    return time.perf_counter() - start, result


def alternate(runs, device, rounds, budget_s=math.inf):
    """Call each of `runs` once per round, in turn (ABAB...): {name: [(seconds, result), ...]}.

    At least one round; a new round starts only while fewer than `budget_s` seconds were spent.
    """
    timings = {name: [] for name in runs}
    started = time.perf_counter()
    for round_index in range(rounds):
        if round_index and time.perf_counter() - started > budget_s:
            break
        for name, run in runs.items():
            timings[name].append(timed(run, device))
    return timings


def best_rate(timings):
    """The highest items per second among (seconds, items) runs."""
    return max(items / seconds for seconds, items in timings)


def best_seconds(timings):
    """The shortest of (seconds, result) runs."""
    return min(seconds for seconds, _ in timings)


# ---------------------------------------------------------------- pipeline


def seed_transform(image_size=224):
    """The seed notebook's per-sample training transform (torchvision transforms v1, on PIL images)."""
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


class SeedStyleDataset(Dataset):
    """The seed's dataset: every access reads and decodes the PNG file, then transforms it."""

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
    """(seed-style, kit) loaders over the same oversampled training samples, both num_workers=0."""
    augmented = AugmentedDataset(train_set, weights=RECIPES["large_frozen"].oversampling)
    generator = torch.Generator().manual_seed(0)
    seed = DataLoader(SeedStyleDataset(augmented, seed_transform(sizes.image_size)),
                      batch_size=sizes.batch_size, shuffle=True, generator=generator, num_workers=0)
    kit = make_loader(augmented, BatchAugment("large", sizes.image_size, train=True).to(device),
                      sizes.batch_size, device, shuffle=True, generator=generator, num_workers=0)
    return seed, kit


def measure_pipeline(train_set, sizes, device):
    """Augmented training images per second: {"kit": ..., "seed": ...}."""
    seed_loader, kit_loader = pipeline_loaders(train_set, sizes, device)
    for loader in (seed_loader, kit_loader):  # warm-up: one batch each
        next(iter(loader))
    runs = {"seed": batch_puller(seed_loader, sizes.seed_batches),
            "kit": batch_puller(kit_loader, sizes.kit_batches)}
    timings = alternate(runs, device, sizes.pipeline_rounds)
    return {name: best_rate(timings[name]) for name in ("kit", "seed")}


# ---------------------------------------------------------------- training step


def train_step_runner(model, images, labels, class_weights, lr, device, kit, steps=1):
    """A function doing `steps` training steps (Adam, weighted cross-entropy); returns images seen.

    kit: channels_last model and input with `training.autocast`; else plain NCHW fp32.
    """
    model = to_device(model, device) if kit else model.to(device)
    if kit:
        images, labels = batch_to_device(images, labels, device)
    else:
        images, labels = images.to(device), labels.to(device)
    criterion = nn.CrossEntropyLoss(weight=torch.tensor(class_weights, device=device))
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()

    def train_steps():
        for _ in range(steps):
            with autocast(device) if kit else nullcontext():
                loss = criterion(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return steps * len(labels)

    return train_steps


def measure_train_stage(stage, sizes, device):
    """Training-step images per second of one stage: {"kit": ..., "plain": ...}."""
    recipe = RECIPES[TRAIN_STAGES[stage]]
    model = build_model(recipe.model, pretrained=False, freeze_base=recipe.freeze_base)
    images = torch.randn(sizes.batch_size, 3, sizes.image_size, sizes.image_size)
    labels = torch.arange(sizes.batch_size) % len(recipe.class_weights)
    runs = {variant: train_step_runner(copy.deepcopy(model), images, labels, recipe.class_weights,
                                       recipe.lr, device, variant == "kit", sizes.train_steps_per_run)
            for variant in ("kit", "plain")}
    for run in runs.values():  # warm-up
        run()
    timings = alternate(runs, device, sizes.train_rounds, sizes.train_budget_s)
    return {variant: best_rate(timings[variant]) for variant in ("kit", "plain")}


def measure_training(sizes, device):
    """{stage: {"kit": img/s, "plain": img/s}} for the four stages."""
    rates = {}
    for stage in TRAIN_STAGES:
        say(f"training step {stage} (batch {sizes.batch_size}, {sizes.image_size} px)")
        rates[stage] = measure_train_stage(stage, sizes, device)
    return rates


# ---------------------------------------------------------------- epoch


class CycledDataset(Dataset):
    """`base` repeated to `length` items (a longer epoch from a small dataset), same interface."""

    def __init__(self, base, length):
        self.base = base
        self.positions = [i % len(base) for i in range(length)]
        self.img_labels = base.img_labels.iloc[self.positions].reset_index(drop=True)

    def __len__(self):
        return len(self.positions)

    def __getitem__(self, index):
        return self.base[self.positions[index]]


def epoch_loader(train_set, sizes, device, num_workers):
    """The kit's small_frozen training loader (`stage_loaders`) over the cycled training set."""
    recipe = RECIPES["small_frozen"]
    cycled = CycledDataset(train_set, max(1, round(len(train_set) * sizes.epoch_repeats)))
    train, _ = stage_loaders(cycled, train_set, recipe.model, sizes.image_size, device,
                             sizes.batch_size, recipe.val_batch_size, recipe.oversampling,
                             torch.Generator().manual_seed(0), num_workers)
    return train


def epoch_model(device):
    """The small_frozen model, loss and optimiser, ready to train on `device`."""
    recipe = RECIPES["small_frozen"]
    model = to_device(build_model(recipe.model, pretrained=False, freeze_base=True), device)
    criterion = nn.CrossEntropyLoss(weight=torch.tensor(recipe.class_weights, device=device))
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=recipe.lr)
    return model, criterion, optimizer


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


# ---------------------------------------------------------------- command line


def bench_sizes(quick, device):
    """The sizes to measure with: tiny with --quick; on GPUs, several training steps per timing."""
    sizes = QUICK if quick else FULL
    return sizes if device.type == "cpu" else replace(sizes, train_steps_per_run=10)


def load_average():
    """The 1-minute load average (other work on the machine skews timings), None where unknown."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def default_data_root():
    """The bundled sample of the kit's folder (see `notebook.project_root`); None if it is missing."""
    sample = project_root() / "data" / "sample"
    return sample if sample.is_dir() else None


def add_arguments(parser):
    """Arguments of `skinkit bench`."""
    parser.add_argument("--json", action="store_true", help="end with the results as one JSON line")
    parser.add_argument("--data", type=Path, help="course-format dataset with train/ "
                                                  "(default: the bundled data/sample)")
    parser.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)  # tiny sizes, for tests


def measuring_setup(device, sizes, data_root, train_set):
    """What the numbers were measured on, for the report."""
    return {"device": str(device), "torch_threads": torch.get_num_threads(),
            "load_average_before": load_average(),
            "data": str(data_root), "train_images": len(train_set), "batch_size": sizes.batch_size,
            "image_size": sizes.image_size, "default_num_workers": default_num_workers(device),
            "pipeline_workers": 0, "statistic": "best of alternating runs"}


def run(args):
    """Run the benchmark and print the table (and the JSON line with --json); returns 0."""
    data_root = args.data or default_data_root()
    if data_root is None or not (Path(data_root) / "train").is_dir():
        print(f"bench: no dataset with a train/ folder at {data_root}; pass --data DIR", file=sys.stderr)
        return 2
    device = torch.device(args.device or pick_device())
    sizes = bench_sizes(args.quick, device)
    torch.manual_seed(0)
    train_set = SkinLesionDataset(Path(data_root) / "train")
    setup = measuring_setup(device, sizes, data_root, train_set)
    say(f"pipeline: seed-style vs kit on {len(train_set)} training images")
    pipeline = measure_pipeline(train_set, sizes, device)
    training = measure_training(sizes, device)
    say(f"epochs: small_frozen with num_workers {WORKER_COUNTS} and pure compute")
    epochs = measure_epochs(train_set, sizes, device)
    report = build_report(pipeline, training, epochs, {**setup, "load_average_after": load_average()})
    print(format_report(report), flush=True)
    if args.json:
        print(json.dumps(report), flush=True)
    return 0


def main(argv=None):
    """`python -m skinkit.bench`: the same as `python -m skinkit bench`."""
    parser = argparse.ArgumentParser(prog="python -m skinkit.bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
