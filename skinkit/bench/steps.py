"""Training-step images per second: the kit's step against a plain NCHW fp32 step, per stage."""

import multiprocessing

import torch

from ..training.loop import batch_to_device, to_device, train_step
from ..training.models import build_model
from ..training.precision import Precision, precision_for
from ..training.recipes import RECIPES
from ..training.stage import recipe_objects
from .timing import alternate, best_rate, say, synchronize

# Benchmark name of each training stage -> the recipe giving its model, freezing and loss weights.
TRAIN_STAGES = {"large_frozen": "large_frozen", "large_full": "large_finetune",
                "small_frozen": "small_frozen", "small_full": "small_finetune"}


def train_step_runner(model, images, labels, recipe, device, kit, steps=1):
    """A function doing `steps` of `train_step` with `recipe`'s loss and optimiser; returns images seen.

    kit: channels_last model and input in the precision `precision_for` picks; else plain NCHW fp32.
    """
    precision = precision_for(device) if kit else Precision("fp32", device.type)
    model = to_device(model, device) if kit else model.to(device)
    if kit:
        images, labels = batch_to_device(images, labels, device)
    else:
        images, labels = images.to(device), labels.to(device)
    criterion, optimizer, _ = recipe_objects(recipe, model, device)
    model.train()

    def train_steps():
        for _ in range(steps):
            train_step(model, images, labels, criterion, optimizer, precision)
        return steps * len(labels)

    return train_steps


def stage_step_runner(stage, sizes, device, kit):
    """`train_step_runner` for a benchmark stage, on the same seeded model and batch every time."""
    recipe = RECIPES[TRAIN_STAGES[stage]]
    torch.manual_seed(0)
    model = build_model(recipe.model, pretrained=False, freeze_base=recipe.freeze_base)
    images = torch.randn(sizes.batch_size, 3, sizes.image_size, sizes.image_size)
    labels = torch.arange(sizes.batch_size) % len(recipe.class_weights)
    return train_step_runner(model, images, labels, recipe, device, kit, sizes.train_steps_per_run)


def serve_plain_steps(connection, sizes, device, threads):
    """Child process loop: ("prepare", stage) builds and warms a plain runner, ("run", _) runs it."""
    torch.set_num_threads(threads)
    runner = None
    while True:
        command, stage = connection.recv()
        if command == "stop":
            return
        if command == "prepare":
            runner = stage_step_runner(stage, sizes, device, kit=False)
            runner()  # warm-up
            connection.send(None)
        else:
            images = runner()
            synchronize(device)  # GPU steps are queued; finish them before the parent stops its clock
            connection.send(images)


class PlainStepProcess:
    """The plain NCHW fp32 training step, run in a fresh process: the baseline of train_speedup.

    A fresh (spawned) process has glibc's default malloc, as a notebook without skinkit does;
    in this process `speed_settings` changed it for the kit's side while the bench runs. The pipe's round
    trip is timed with the baseline's steps: well under a millisecond against 0.1-4 s of work.
    """

    def __init__(self, sizes, device):
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=serve_plain_steps, daemon=True,
                                       args=(child, sizes, device, torch.get_num_threads()))
        self.process.start()

    def request(self, command, stage=None):
        """Send one command to the child and return its answer."""
        try:
            self.connection.send((command, stage))
            return self.connection.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            raise RuntimeError(f"bench: the process running the plain training step died (exit code "
                               f"{self.process.exitcode}); out of memory? Try a smaller --data set "
                               f"or close other programs.") from None

    def prepare(self, stage):
        """Build and warm up the plain runner of `stage` in the child."""
        self.request("prepare", stage)

    def __call__(self):
        return self.request("run")

    def close(self):
        """Stop the child process."""
        self.connection.send(("stop", None))
        self.process.join(timeout=30)


def measure_train_stage(stage, sizes, device, plain):
    """Training-step images per second of one stage: {"kit": ..., "plain": ...}."""
    kit = stage_step_runner(stage, sizes, device, kit=True)
    kit()  # warm-up
    plain.prepare(stage)
    timings = alternate({"kit": kit, "plain": plain}, device, sizes.train_rounds, sizes.train_budget_s)
    return {variant: best_rate(timings[variant]) for variant in ("kit", "plain")}


def measure_training(sizes, device):
    """{stage: {"kit": img/s, "plain": img/s}} for the four stages."""
    plain = PlainStepProcess(sizes, device)
    rates = {}
    try:
        for stage in TRAIN_STAGES:
            say(f"training step {stage} (batch {sizes.batch_size}, {sizes.image_size} px)")
            rates[stage] = measure_train_stage(stage, sizes, device, plain)
    finally:
        plain.close()
    return rates
