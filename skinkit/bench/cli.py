"""The `skinkit bench` command: runs the three measurements and prints the report (arguments: skinkit/__main__.py)."""

import json
import os
from dataclasses import replace
from pathlib import Path

import torch

from ..data.dataset import SkinLesionDataset, check_data_root
from ..data.loaders import default_num_workers
from ..files import project_root
from ..training.loop import device_named, speed_settings
from ..training.precision import precision_for
from .epochs import WORKER_COUNTS, measure_epochs
from .pipeline import measure_pipeline
from .report import build_report, format_report
from .steps import measure_training
from .timing import FULL, QUICK, say


def bench_sizes(quick, device):
    """The sizes to measure with: tiny with --quick; on GPUs, several training steps per timing."""
    sizes = QUICK if quick else FULL
    return sizes if device.type == "cpu" else replace(sizes, train_steps_per_run=10)


def load_average():
    """The 1-minute load average (other work on the machine skews timings), None where unknown."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def default_data_root():
    """The bundled sample of the kit's folder (see `files.project_root`)."""
    return project_root() / "data" / "sample"


def device_name(device):
    """The device as a reader can look it up: the GPU's model name on CUDA, else its type."""
    return f"{device} ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else str(device)


def measuring_setup(device, sizes, data_root, train_set, freed_memory_kept):
    """What the numbers were measured on, for the report."""
    return {"device": str(device), "device_name": device_name(device),
            "precision": precision_for(device).name, "torch_threads": torch.get_num_threads(),
            "load_average_before": load_average(),
            "data": str(data_root), "train_images": len(train_set), "batch_size": sizes.batch_size,
            "image_size": sizes.image_size, "default_num_workers": default_num_workers(device),
            "pipeline_workers": 0, "statistic": "best of alternating runs",
            "freed_memory_kept": freed_memory_kept}


def run(args):
    """Run the benchmark and print the table (and the JSON line with --json); returns 0."""
    data_root = args.data or default_data_root()
    check_data_root(data_root, ("train",), "pass --data with a course-format dataset")
    device = device_named(args.device)
    sizes = bench_sizes(args.quick, device)
    torch.manual_seed(0)
    train_set = SkinLesionDataset(Path(data_root) / "train")
    with speed_settings(device) as freed_memory_kept:  # for all timings, as inside train_model
        setup = measuring_setup(device, sizes, data_root, train_set, freed_memory_kept)
        say(f"pipeline: report-style vs kit on {len(train_set)} training images")
        pipeline = measure_pipeline(train_set, sizes, device)
        training = measure_training(sizes, device)
        say(f"epochs: small_frozen with num_workers {WORKER_COUNTS} and pure compute")
        epochs = measure_epochs(train_set, sizes, device)
    report = build_report(pipeline, training, epochs, {**setup, "load_average_after": load_average()})
    print(format_report(report), flush=True)
    if args.json:
        print(json.dumps(report), flush=True)
    return 0
