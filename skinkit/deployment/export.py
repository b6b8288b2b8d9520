"""`python -m skinkit export`: a finished stage as model.onnx (fp32) and model.int8.onnx, checked.

The export checks itself in the same run (see `checks`) and writes everything it measured to
export.json beside the two files.
"""

import itertools
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path

import numpy as np
import onnx
import torch

from ..data.dataset import check_data_root, list_labelled_images, read_gray
from ..files import atomic_path, read_json, write_json
from ..progress import write_line
from ..reporting.comparison import FINAL_STAGES
from ..uncertainty.stage import stage_uncertainty
from . import checks, qat
from .contract import TorchClassifier, deployable_stage, input_size
from .inputs import INPUT_NAME, OUTPUT_NAME, OUTPUT_NAMES, crop_to_input
from .quantize import CANDIDATES, pooling_as_global_average, quantize_checked
from .quiet import quietly
from .runtime import OnnxClassifier

OPSET = 18
CALIBRATION_IMAGES, SELECTION_IMAGES = 300, 200
VERSIONED = ("skinkit", "torch", "onnx", "onnxruntime", "onnxscript")
FILES = ("model.onnx", "model.int8.onnx", "export.json")
QAT_NAME = f"quantization-aware training ({qat.EPOCHS} passes, distilled from fp32)"
QAT_MIN_IMAGES = 500  # training images to distil on; with fewer (the bundled sample) it is not tried


def export_onnx(deployable, image_size, path, props):
    """Write `deployable` as one self-contained ONNX file (dynamo exporter, dynamic batch, `props` as metadata)."""
    example = torch.zeros(2, 1, image_size, image_size, dtype=torch.uint8)
    with quietly():
        program = torch.onnx.export(deployable, (example,), dynamo=True, opset_version=OPSET, verbose=False,
                                    input_names=[INPUT_NAME],
                                    output_names=list(OUTPUT_NAMES) if deployable.gated else [OUTPUT_NAME],
                                    dynamic_shapes=({0: torch.export.Dim("batch")},))
    program.model.metadata_props.update(props)
    with atomic_path(path) as tmp:
        program.save(tmp, external_data=False)


def model_inputs(folder, files, model_name, image_size, batch_size=100):
    """The images `files` of `folder` as uint8 model inputs (N, 1, S, S), in order.

    Neighbours of the same size are cropped together (a course dataset is all one size).
    """
    resize, crop = input_size(model_name, image_size)
    images = [read_gray(Path(folder) / file).numpy() for file in files]
    groups = [np.stack(list(same_size)) for _, same_size in itertools.groupby(images, key=np.shape)]
    return np.concatenate([crop_to_input(group[start:start + batch_size], resize, crop)
                           for group in groups for start in range(0, len(group), batch_size)])


def subset_positions(files, seed=0):
    """Positions in `files` of two disjoint seeded sets: for calibration, and for choosing among candidates."""
    order = np.random.default_rng(seed).permutation(len(files))
    calibration = min(CALIBRATION_IMAGES, (len(files) + 1) // 2)
    return order[:calibration], order[calibration:calibration + SELECTION_IMAGES]


def distillation_positions(files, seed=0):
    """Positions in `files` that quantization-aware training learns from: all but the images for choosing."""
    return np.setdiff1d(np.arange(len(files)), subset_positions(files, seed)[1])


def training_subsets(folder, model_name, image_size, seed=0):
    """Two disjoint seeded sets of training images: for calibration, and for choosing among candidates."""
    files = list_labelled_images(folder)["file"]
    calibration, selection = subset_positions(files, seed)
    images = model_inputs(folder, files.iloc[np.concatenate([calibration, selection])], model_name, image_size)
    return images[:len(calibration)], images[len(calibration):]


def qat_remedy(deployable, folder, props, seed=0):
    """The last int8 remedy for `quantize_checked`, (name, make), or None with too few training images to learn from."""
    if len(distillation_positions(list_labelled_images(folder)["file"], seed)) < QAT_MIN_IMAGES:
        return None
    return QAT_NAME, partial(int8_by_training, deployable, folder, props, seed=seed)


def int8_by_training(deployable, folder, props, path, seed=0):
    """Write at `path` the int8 file of quantization-aware training on every training image but the selection's.

    Returns the trained copy (fake-quantized, frozen) that the file was exported from.
    """
    files = list_labelled_images(folder)["file"]
    size = int(props["image_size"])
    images = model_inputs(folder, files.iloc[distillation_positions(files, seed)], props["architecture"], size)
    student = qat.trained_for_int8(deployable, images, seed=seed, announce=lambda text: write_line(f"  {text}"))
    export_onnx(student, size, path, props)
    onnx.save(qat.weights_stored_as_int8(pooling_as_global_average(onnx.load(str(path)))), str(path))
    return student


def validation_inputs(folder, model_name, image_size):
    """Every validation image as a uint8 model input, and its label."""
    table = list_labelled_images(folder)
    return model_inputs(folder, table["file"], model_name, image_size), table["label"].to_numpy()


def provenance(runs_root, stage, config, data_root, seed, files):
    """What export.json says about where the files came from and what made them."""
    resize, size = input_size(config["model"], config["image_size"])
    return {"stage": stage, "architecture": config["model"], "image_size": size, "resize": resize,
            "pretrained": config["pretrained"], "opset": OPSET, "seed": seed,
            "data_root": str(Path(data_root).resolve()), "files_written": [str(path) for path in files],
            "run_balanced_accuracy": read_json(Path(runs_root) / stage / "metrics.json")["balanced_accuracy"],
            "versions": {package: version(package) for package in VERSIONED},
            "created": datetime.now().isoformat(timespec="seconds")}


def uncertainty_record(uncertainty):
    """What export.json says about the temperature, the conformal sets and the gate inside the graph."""
    return {"temperature": uncertainty["temperature"],
            "conformal": {"alpha": uncertainty["alpha"], "threshold": uncertainty["conformal_threshold"]},
            "gate": {"threshold": uncertainty["ood_threshold"],
                     "refused_validation": uncertainty["refused_validation"]}}


@contextmanager
def staged(out_dir, names):
    """Yield a scratch folder; when the block succeeds, move the files `names` from it into `out_dir`.

    An export that fails half-way leaves the previous files untouched, never a mixed set.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".export.", dir=out_dir))
    try:
        yield scratch
        for name in names:
            os.replace(scratch / name, out_dir / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class Steps:
    """Announces each step of a long command on a line of its own: which, how far, about how long is left."""

    def __init__(self, name, total):
        self.name, self.total, self.done, self.started = name, total, 0, time.monotonic()

    def __call__(self, text):
        """Announce the step that starts now (the estimate assumes the steps left take as long as the done ones)."""
        left = ""
        if self.done:
            seconds = (time.monotonic() - self.started) / self.done * (self.total - self.done)
            left = f", about {seconds / 60:.0f} min left" if seconds >= 90 else f", about {seconds:.0f} s left"
        write_line(f"{self.name} step {self.done + 1}/{self.total}: {text}{left}")
        sys.stdout.flush()  # a log file gets the line now, not when the export ends
        self.done += 1


def export_stage(runs_root, stage, out_dir=None, data_root=None, try_all=False, latency_repeats=30, seed=0):
    """Export a finished stage to fp32 and int8 ONNX, check both, write export.json; returns its record.

    `data_root` defaults to the dataset in the stage's config.json; `seed` draws the calibration
    images and the bootstrap resamples. Each step is announced as it starts.
    """
    config = read_json(Path(runs_root) / stage / "config.json")
    data_root = Path(data_root or config["data_root"])
    check_data_root(data_root, ("train", "val"), "pass --data with the dataset this stage was trained on")
    deployable, props = deployable_stage(runs_root, stage, data_root)
    uncertainty = stage_uncertainty(runs_root, stage, data_root, say=None)  # read back: export.json records it
    name, size = config["model"], int(props["image_size"])
    out_dir = Path(out_dir) if out_dir else Path(runs_root) / "export" / stage
    trained = qat_remedy(deployable, data_root / "train", props, seed)
    step = Steps(stage, 2 + len(CANDIDATES) + (trained is not None))
    with staged(out_dir, FILES) as scratch:
        fp32, int8 = scratch / FILES[0], scratch / FILES[1]
        step("ONNX export (fp32)")
        export_onnx(deployable, size, fp32, props)
        calibration, selection = training_subsets(data_root / "train", name, size, seed)
        quantization = quantize_checked(fp32, int8, calibration, selection, try_all=try_all, announce=step,
                                        last_resort=trained)
        step.total = step.done + 1  # the candidates not needed are skipped
        step("checks on the validation images and latency")
        images, labels = validation_inputs(data_root / "val", name, size)
        measured = checks.measure(TorchClassifier(deployable, stage, size), OnnxClassifier(fp32),
                                  OnnxClassifier(int8), images, labels, latency_repeats, seed)
        record = {**provenance(runs_root, stage, config, data_root, seed, [out_dir / f for f in FILES]),
                  **measured, "quantization": quantization, **uncertainty_record(uncertainty)}
        write_json(scratch / FILES[2], record)
    return record


def export_final_models(runs_root, data_root=None, latency_repeats=30, seed=0):
    """Export the fine-tuned Large and Small into <runs>/export/ ({name: export.json record})."""
    return {name: export_stage(runs_root, stage, data_root=data_root, latency_repeats=latency_repeats,
                               seed=seed) for name, stage in FINAL_STAGES.items()}
