"""Time `skinkit grade` on a made-up class: a platform's zip of N student zips, four stages each.

    python scripts/grading_benchmark.py                 # 200 students x 4 stages
    python scripts/grading_benchmark.py --students 20

Each student's runs/ holds the four stages' config.json and confusion_matrix.csv (some moved off
the reference, so every verdict occurs), like a zip a student hands in without checkpoints. The
time covers reading the archive, grading, the gradebook and the feedback files.
"""

import argparse
import io
import json
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from skinkit.__main__ import main as skinkit_main
from skinkit.classes import CLASS_CODES

STAGES = ("large_frozen", "large_finetune", "small_frozen", "small_finetune")
# Rows = true class, columns = predicted: 1000 validation images of the course split's shape.
SUPPORTS = (33, 51, 110, 12, 111, 669, 14)


def stage_matrix(rng, wrong):
    """A confusion matrix with the course's supports; `wrong` extra images of one class misclassified."""
    counts = np.diag(SUPPORTS) * 0
    for row, support in enumerate(SUPPORTS):
        counts[row, row] = int(support * 0.7)
        counts[row, 5 if row != 5 else 2] = support - counts[row, row]
    row = rng.integers(len(SUPPORTS))
    moved = min(wrong, counts[row, row])
    counts[row, row] -= moved
    counts[row, (row + 1) % len(SUPPORTS)] += moved
    return pd.DataFrame(counts, index=list(CLASS_CODES), columns=list(CLASS_CODES)).to_csv(index_label="true")


def runs_zip(rng, wrong_by_stage, stages=STAGES):
    """A student's runs/ folder zipped in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, stage in enumerate(stages):
            config = {"stage": stage, "seed": 0, "data_fingerprint": "ab" * 32, "created": f"2026-01-0{index + 1}"}
            archive.writestr(f"runs/{stage}/config.json", json.dumps(config))
            archive.writestr(f"runs/{stage}/confusion_matrix.csv", stage_matrix(rng, wrong_by_stage(stage)))
    return buffer.getvalue()


def build_class(folder, students, seed=0):
    """The reference runs/ folder and submissions.zip (Canvas-style names) in `folder`."""
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(io.BytesIO(runs_zip(rng, lambda stage: 0))) as reference:
        reference.extractall(folder)  # our own archive, made just above
    with zipfile.ZipFile(folder / "submissions.zip", "w", zipfile.ZIP_STORED) as archive:
        for number in range(students):
            wrong = rng.integers(0, 3, size=len(STAGES))  # 0-2 images off per stage
            data = runs_zip(rng, lambda stage: int(wrong[STAGES.index(stage)]))
            archive.writestr(f"student{number:03d}_{10000 + number}_{20000 + number}_runs.zip", data)
    return folder / "runs", folder / "submissions.zip"


def main(argv=None):
    """Build the class, grade it, print the time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        reference, submissions = build_class(Path(tmp), args.students)
        start = time.perf_counter()
        code = skinkit_main(["grade", "--reference", str(reference), "--submission", str(submissions),
                             "--out", f"{tmp}/gradebook.csv", "--feedback", f"{tmp}/feedback"])
        seconds = time.perf_counter() - start
        rows = len(pd.read_csv(f"{tmp}/gradebook.csv"))
    print(f"graded {rows} students x {len(STAGES)} stages in {seconds:.1f} s (exit code {code}, "
          f"gradebook and feedback files included)")
    return seconds


if __name__ == "__main__":
    main()
