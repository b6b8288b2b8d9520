"""How much each measurement does, and timing in alternation (ABAB...) on a shared machine."""

import math
import sys
import time
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class BenchSizes:
    """How much work each measurement does; the hidden --quick flag shrinks it all for tests."""

    batch_size: int = 50
    image_size: int = 224
    pipeline_rounds: int = 3
    report_batches: int = 2  # per round
    kit_batches: int = 6  # per round
    train_rounds: int = 5
    train_steps_per_run: int = 1  # more on GPUs, where one step takes milliseconds
    train_budget_s: float = 12.0  # no new round once a stage has spent this long timing
    epoch_repeats: float = 4.0  # the train split cycled this many times (~10 batches of 50)
    epoch_rounds: int = 8  # real epoch with the default workers vs pure compute
    epoch_budget_s: float = 20.0
    worker_rounds: int = 1  # real epochs with the other worker counts (slow on CPUs)


FULL = BenchSizes()
QUICK = BenchSizes(batch_size=4, image_size=32, pipeline_rounds=1, report_batches=1, kit_batches=2,
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
