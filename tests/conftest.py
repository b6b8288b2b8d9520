"""Shared test helpers: the bundled sample's location and tiny fake HAM10000 sources.

Tests never read the real HAM10000 copy; they build small fake sources in temporary folders.
"""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from filelock import FileLock
from PIL import Image

from skinkit.classes import CLASS_CODES

SAMPLE_ROOT = Path(__file__).parents[1] / "data" / "sample"

# Images per lesion, repeated for every lesion of a class: single- and multi-image lesions.
DEFAULT_LESION_SIZES = (1, 2, 1, 1, 3)
# (age, sex, localization) given to the images in turn, one with nothing known ("" is an empty cell).
PATIENTS = (("25.0", "female", "back"), ("45.0", "male", "face"), ("70.0", "male", "lower extremity"),
            ("55.0", "female", "back"), ("", "unknown", "unknown"))


def lesion_plan(lesions_per_class, lesion_sizes=DEFAULT_LESION_SIZES):
    """Metadata rows (lesion_id, image_id, dx): `lesions_per_class[code]` lesions per class."""
    rows, image_number = [], 24_000
    for code in CLASS_CODES:
        for lesion in range(lesions_per_class.get(code, 0)):
            lesion_id = f"HAM_{code}_{lesion:04d}"
            for _ in range(lesion_sizes[lesion % len(lesion_sizes)]):
                rows.append((lesion_id, f"ISIC_{image_number:07d}", code))
                image_number += 1
    return pd.DataFrame(rows, columns=["lesion_id", "image_id", "dx"])


def write_jpeg(path, seed, width=40, height=30):
    """A small random RGB JPEG (non-square, like the 600x450 HAM10000 originals)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=90)


def make_ham10000(root, lesions_per_class=None, lesion_sizes=DEFAULT_LESION_SIZES):
    """Write a fake HAM10000 source (HAM10000_metadata.csv + images/*.jpg) into `root`."""
    root = Path(root)
    if lesions_per_class is None:
        lesions_per_class = dict.fromkeys(CLASS_CODES, 20)
    meta = lesion_plan(lesions_per_class, lesion_sizes)
    (root / "images").mkdir(parents=True)
    for seed, image_id in enumerate(meta["image_id"]):
        write_jpeg(root / "images" / f"{image_id}.jpg", seed)
    patients = pd.DataFrame([PATIENTS[n % len(PATIENTS)] for n in range(len(meta))],
                            columns=["age", "sex", "localization"])
    pd.concat([meta.assign(dx_type="histo"), patients], axis=1).to_csv(root / "HAM10000_metadata.csv",
                                                                     index=False)
    return root


@pytest.fixture(scope="session")
def fake_ham10000(tmp_path_factory):
    """A read-only fake source: 20 lesions (32 images) per class. Do not modify it in tests."""
    return make_ham10000(tmp_path_factory.mktemp("ham") / "HAM10000")


@pytest.fixture(scope="session")
def cli_export(tmp_path_factory):
    """One export of a responsive random Small through `python -m skinkit export`, made once per test run.

    (runs root, export folder, exit status, stdout, stderr, warnings). Read it, never change it:
    a module that writes into its run folder copies it first (`copied_export`). Under pytest-xdist
    the first worker to need it makes it and the others read it (xdist's recipe for a session
    fixture made once: a folder beside the workers' own, and a lock).
    """
    from .test_deployment import STAGE, finished_run, run_cli

    if os.environ.get("PYTEST_XDIST_WORKER"):
        runs = tmp_path_factory.getbasetemp().parent / "exported"
    else:
        runs = tmp_path_factory.mktemp("exported")
    said = runs.with_name(f"{runs.name}.json")  # what the command returned, printed and warned
    with FileLock(f"{runs}.lock"):
        if not said.is_file():
            finished_run(runs)
            said.write_text(json.dumps(run_cli("export", "--stage", STAGE, "--runs", runs)))
    return runs, runs / "export" / STAGE, *json.loads(said.read_text())
