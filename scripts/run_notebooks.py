"""Execute the numbered notebooks headless, in order, keeping executed copies beside the results.

What the cells print (each epoch's line, each stage's summary, warnings) is shown as it happens.
First it times one batch of each training stage's model and prints how long the training will
take; as each stage finishes, the estimate for the stages left is corrected by what the finished
ones took. A notebook whose kernel dies (killed, out of memory) ends the run with one line; so
does Ctrl-C, which interrupts the running cell as JupyterLab's stop button does.

    python scripts/run_notebooks.py            # the full kit on the default data (make run)
    python scripts/run_notebooks.py --smoke    # CI-sized run; prints each notebook's wall time
"""

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError

from skinkit.data.augment import BatchAugment
from skinkit.data.dataset import list_labelled_images, read_gray
from skinkit.errors import KitError
from skinkit.notebook import SMOKE_IMAGE_SIZE, default_data_root, default_runs_root, stage_recipe
from skinkit.training import loop
from skinkit.training.models import build_model
from skinkit.training.precision import precision_for
from skinkit.training.recipes import IMAGE_SIZE, NOTEBOOK_OF_STAGE
from skinkit.training.run_folders import read_history
from skinkit.training.stage import recipe_objects

ROOT = Path(__file__).resolve().parents[1]


class EchoingClient(NotebookClient):
    """A NotebookClient that also prints the cells' stdout and stderr as they arrive, and takes Ctrl-C
    as JupyterLab's stop button does."""

    ctrl_c_presses = 0

    async def async_start_new_kernel_client(self):
        """Connect to the kernel; from then on Ctrl-C interrupts the running cell (`on_ctrl_c`)."""
        kernel_client = await super().async_start_new_kernel_client()
        # replaces nbclient's handler, which shuts the kernel down mid-message (a traceback from each side);
        # like nbclient, it is left out where signals cannot be caught (Windows, a thread that is not main)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self.on_ctrl_c)
        return kernel_client

    def on_ctrl_c(self):
        """The first Ctrl-C interrupts the cell (the kernel runs in a session of its own, so the terminal's
        Ctrl-C does not reach it); a second one shuts the kernel down, as nbclient would."""
        self.ctrl_c_presses += 1
        if self.ctrl_c_presses == 1:
            os.kill(self.km.provisioner.pid, signal.SIGINT)
        else:
            asyncio.ensure_future(self._async_cleanup_kernel())

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "stream":
            stream = sys.stderr if msg["content"]["name"] == "stderr" else sys.stdout
            print(msg["content"]["text"], end="", file=stream, flush=True)
        return super().output(outs, msg, display_id, cell_index)


class Stopped(Exception):
    """Ctrl-C stopped the run (the kernel's cell was interrupted, or the kernel shut down on a second Ctrl-C)."""


def execute(path, out_dir, timeout):
    """Run one notebook in its own folder; save the executed copy to `out_dir`; return seconds."""
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    # The kernel's own log (e.g. "running over TCP without encryption") is noise here; errors still show.
    client = EchoingClient(notebook, timeout=timeout, kernel_name="python3",
                           extra_arguments=["--IPKernelApp.log_level=ERROR"],
                           resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except BaseException:  # the interrupted cell's error, or nbclient's own once the kernel is gone
        if client.ctrl_c_presses:
            raise Stopped from None
        raise
    finally:
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, out_dir / path.name)
    if client.ctrl_c_presses:  # the last cell ended before the interrupt reached it
        raise Stopped
    return time.perf_counter() - started


@dataclass
class StagePlan:
    """One training stage as `make run` will train it, and what one of its batches costs here."""

    stage: str
    notebook: str
    epochs_done: int  # epochs already in its run folder (a finished or interrupted earlier run)
    epochs_left: int
    train_batches: int  # per epoch, after oversampling
    val_batches: int
    step_s: float = 0.0  # one training batch: augmentation and optimisation step, timed
    eval_s: float = 0.0  # one validation batch, timed

    def predicted(self):
        """Seconds the epochs left would take at the timed batch costs."""
        return self.epochs_left * (self.train_batches * self.step_s + self.val_batches * self.eval_s)


def trained_epochs(run_dir):
    """Epochs recorded in a run folder's history.csv (0 without one)."""
    history = Path(run_dir) / "history.csv"
    return len(read_history(history)) if history.is_file() else 0


def plan_stages(data_root, runs_root, smoke):
    """A StagePlan per training stage, from the recipes (as the notebooks shrink them in smoke mode) and the data."""
    train_labels = list_labelled_images(Path(data_root) / "train")["label"]
    val_images = len(list_labelled_images(Path(data_root) / "val"))
    plans = []
    for stage, notebook in NOTEBOOK_OF_STAGE.items():
        recipe = stage_recipe(stage, smoke)
        done = min(trained_epochs(Path(runs_root) / stage), recipe.epochs)
        train_images = sum(recipe.oversampling[label] for label in train_labels)
        plans.append(StagePlan(stage, notebook, done, recipe.epochs - done,
                               math.ceil(train_images / recipe.train_batch_size),
                               math.ceil(val_images / recipe.val_batch_size)))
    return plans


def timed(work, device):
    """Seconds one call of `work` takes (queued GPU work included)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    work()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - started


def time_batches(plan, image_shape, image_size, device):
    """Set plan.step_s and plan.eval_s: one training and one validation batch of the stage's model, timed.

    The batches hold random pixels of the data's `image_shape` (height, width): the cost is the same.
    """
    recipe = stage_recipe(plan.stage, smoke=False)  # smoke mode changes the epochs only
    images = torch.randint(0, 256, (recipe.train_batch_size, 1, *image_shape), dtype=torch.uint8)
    labels = torch.arange(recipe.train_batch_size) % len(recipe.class_weights)
    model = loop.to_device(build_model(recipe.model, pretrained=False, freeze_base=recipe.freeze_base), device)
    criterion, optimizer, _ = recipe_objects(recipe, model, device)  # the recipe's, as train_model gets them
    precision = precision_for(device)
    train_augment = BatchAugment(recipe.model, image_size, train=True).to(device)
    val_augment = BatchAugment(recipe.model, image_size, train=False).to(device)

    def train_batch():
        model.train()
        batch = loop.batch_to_device(train_augment(images.to(device)), labels, device)
        loop.train_step(model, *batch, criterion, optimizer, precision)

    def val_batch():
        val_images = val_augment(images[:recipe.val_batch_size].to(device))
        loop.predict_probabilities(model, [(val_images, labels[:recipe.val_batch_size])], device, precision)

    train_batch(), val_batch()  # the first calls also allocate and pick kernels: not timed
    plan.step_s, plan.eval_s = timed(train_batch, device), timed(val_batch, device)


def duration(seconds):
    """'1 h 05 min', '12 min', '75 s'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def epochs(count):
    """'1 epoch', '12 epochs'."""
    return f"{count} epoch{'' if count == 1 else 's'}"


class CourseClock:
    """The training time estimate: timed batches at the start, corrected by each finished stage."""

    def __init__(self, plans, runs_root):
        self.plans, self.runs_root = {plan.stage: plan for plan in plans}, Path(runs_root)
        self.measured, self.predicted = 0.0, 0.0  # of the stages trained so far in this run

    def correction(self):
        """Measured / predicted seconds of the stages trained so far (1 before the first)."""
        return self.measured / self.predicted if self.predicted else 1.0

    def seconds_left(self):
        """The stages still to train: their predicted seconds, times the correction."""
        return self.correction() * sum(plan.predicted() for plan in self.plans.values())

    def start_line(self):
        """What the run will train and how long that should take."""
        todo = [plan for plan in self.plans.values() if plan.epochs_left]
        if not todo:
            return "training: every stage is already trained in its run folder; the notebooks load them"
        done = [plan.stage for plan in self.plans.values() if not plan.epochs_left]
        return (f"training estimate: about {duration(self.seconds_left())} for "
                f"{epochs(sum(plan.epochs_left for plan in todo))} in {len(todo)} stage(s) (one batch of each "
                f"stage's model timed just now){'; already trained: ' + ', '.join(done) if done else ''}; "
                f"the other notebooks take their own time on top")

    def notebook_finished(self, name):
        """Take in the epoch seconds measured by the stage notebook `name` trained; the line saying what is left.

        None for a notebook that trains no stage, or whose stage was trained before this run.
        """
        plan = next((plan for plan in self.plans.values() if plan.notebook == name), None)
        history = plan and self.runs_root / plan.stage / "history.csv"
        if not plan or not plan.epochs_left or not history.is_file():
            return None
        measured = read_history(history)["seconds"].iloc[plan.epochs_done:].sum()
        self.measured, self.predicted = self.measured + measured, self.predicted + plan.predicted()
        line = (f"{plan.stage}: {epochs(plan.epochs_left)} in {duration(measured)} "
                f"(estimated {duration(plan.predicted())})")
        plan.epochs_left = 0
        left = self.seconds_left()
        return f"{line}; training left: {f'about {duration(left)}' if left else 'none'}"


def batch_times(root, stages, smoke):
    """{stage: (training batch s, validation batch s)}: `time_batches` for each of `stages` on the default data."""
    data_root = default_data_root(root, smoke)[0]
    first_image = data_root / "train" / list_labelled_images(data_root / "train")["file"].iat[0]
    image_shape = read_gray(first_image).shape[-2:]
    device = loop.pick_device()
    times = {}
    with loop.speed_settings(device):  # as inside train_model
        for stage in stages:
            plan = StagePlan(stage, None, 0, 1, 1, 1)
            time_batches(plan, image_shape, SMOKE_IMAGE_SIZE if smoke else IMAGE_SIZE, device)
            times[stage] = (plan.step_s, plan.eval_s)
    return times


def start_clock(root, runs_root, smoke):
    """Plan the stages, time one batch of each stage still to train, print the estimate; the CourseClock.

    The timing runs in a fresh Python process, so that its memory is back with the system before
    the notebooks train. None when the data cannot be read (the first notebook says what is wrong)
    or the timing fails (the estimate is left out, the run goes on).
    """
    try:
        plans = plan_stages(default_data_root(root, smoke)[0], runs_root, smoke)
    except KitError:
        return None
    todo = [plan.stage for plan in plans if plan.epochs_left]
    if todo:
        command = [sys.executable, __file__, "--time-batches", *todo, *(["--smoke"] if smoke else [])]
        timing = subprocess.run(command, capture_output=True, text=True)
        if timing.returncode:
            print(f"training estimate: none (timing a batch failed: "
                  f"{(timing.stderr.strip().splitlines() or ['no message'])[-1]})", flush=True)
            return None
        times = json.loads(timing.stdout.splitlines()[-1])
        for plan in plans:
            plan.step_s, plan.eval_s = times.get(plan.stage, (0.0, 0.0))
    clock = CourseClock(plans, runs_root)
    print(clock.start_line(), flush=True)
    return clock


def sample_notice(root):
    """The first line of a full run that falls back to the bundled sample (None otherwise)."""
    if default_data_root(root, smoke=False)[0] != root / "data" / "sample":
        return None
    return ("Running on the 105-image sample (data/sample): it runs everything but teaches little; "
            "`make data` fetches the real course into data/course.")


def run_all(notebooks, out_dir, timeout, clock=None):
    """Execute `notebooks` in order into `out_dir`; stop at the first that fails. Returns the exit status."""
    total = 0.0
    for path in notebooks:
        print(f"running {path.name} ...", flush=True)
        try:
            seconds = execute(path, out_dir, timeout)
        except CellExecutionError as error:
            print(f"\n{path.name} failed; the executed copy with the error is {out_dir / path.name}\n{error}",
                  file=sys.stderr)
            return 1
        except DeadKernelError:  # killed, or out of memory: nothing to show but where to go on
            print(f"{path.name} stopped: its Python kernel died (killed, or out of memory?); what it ran is "
                  f"in {out_dir / path.name}; run `make run` again to continue where it stopped.",
                  file=sys.stderr, flush=True)
            return 1
        except Stopped:
            print(f"\n{path.name} stopped by Ctrl-C; what it ran is in {out_dir / path.name}; run `make run` "
                  "again to continue where it stopped (training resumes after its last finished epoch).",
                  file=sys.stderr, flush=True)
            return 130
        total += seconds
        print(f"  {seconds:6.1f} s  -> {out_dir / path.name}", flush=True)
        line = clock and clock.notebook_finished(path.name)
        if line:
            print(line, flush=True)
    print(f"all {len(notebooks)} notebooks: {total:.1f} s")
    return 0


def main(argv=None):
    """Execute notebooks/0*.ipynb in order; stop at the first failing one."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="set SKINKIT_SMOKE=1 (tiny runs)")
    parser.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds (default none)")
    parser.add_argument("--time-batches", nargs="+", metavar="STAGE", help=argparse.SUPPRESS)  # start_clock's
    args = parser.parse_args(argv)
    if args.time_batches:
        print(json.dumps(batch_times(ROOT, args.time_batches, args.smoke)))
        return 0
    # Nobody sees the kernels' live bars here: they print a line a minute instead (skinkit.progress).
    os.environ.setdefault("SKINKIT_PROGRESS_LINES", "60")
    if args.smoke:
        os.environ["SKINKIT_SMOKE"] = "1"
    elif sample_notice(ROOT):
        print(sample_notice(ROOT), flush=True)
    runs_root = default_runs_root(ROOT, args.smoke)  # where the notebooks write their run folders
    try:
        clock = start_clock(ROOT, runs_root, args.smoke)
        status = run_all(sorted((ROOT / "notebooks").glob("0*.ipynb")), runs_root / "notebooks", args.timeout,
                         clock)
    except KeyboardInterrupt:  # Ctrl-C between notebooks (one inside a notebook is handled there)
        print("\nmake run: stopped by Ctrl-C; run `make run` again to continue where it stopped.",
              file=sys.stderr, flush=True)
        return 130
    if status == 0:  # the figures are drawn in the notebooks, so the executed copies are the results
        print(f"every table and figure is in the executed copies: {runs_root / 'notebooks'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
