"""Time `skinkit grade` on a made-up class: a platform's zip of N student zips, four stages each.

    python scripts/grading_benchmark.py                  # 200 students x 4 stages
    python scripts/grading_benchmark.py --students 1000
    python scripts/grading_benchmark.py --hostile        # plus the hostile students below, 1 GB zip included

Each student's runs/ holds the four stages' config.json and confusion_matrix.csv (some moved off
the reference, so every verdict occurs), like a zip a student hands in without checkpoints. The
time covers reading the archive, grading, the gradebook and the feedback files.

--hostile adds students whose names hold colons, backslashes, quotes, emoji, 300 characters or a
spreadsheet formula (each hands in honest runs and must pass), and students whose uploads are
hostile: a matrix of a million empty columns, a million lines, a config.json nested 100,000 deep,
a .tar.gz and a .7z, zips nested too deep, a small upload holding a stored zip of 500 MiB of
zeros (refused from its 1000-fold ratio), and a 13 MiB upload holding a stored zip of 500 MiB
that expands only 40-fold: just under the caps (512 MiB for a zip in a zip), it is streamed out
whole before its member passes the 1 GiB cap, the most one student can cost (`--bomb-mib` sets
both sizes). It prints
the time and the process's peak memory (ru_maxrss).
"""

import argparse
import io
import json
import re
import resource
import sys
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
# Honest runs under names the platforms allow; each must pass every stage.
HONEST_NAMES = ("smith:jane_3001_1_runs 12:30.zip", "o\\brien_3002_1_runs.zip", "d'arc \"jo\"_3003_1_runs.zip",
                "zoë 🎓_3004_1_runs.zip", "x" * 300 + "_3005_1_runs.zip", "=HYPERLINK(\"x\")_3006_1_runs.zip",
                "+1+1_3007_1_runs.zip", "-2+3_3008_1_runs.zip", "@SUM(A1)_3009_1_runs.zip",
                "late_LATE_3010_1_runs.zip", "Moodle: Name_3011_assignsubmission_file_/runs.zip")


# Random bytes per MiB of the dense bomb: it expands about 40-fold, under the 100-fold rule, so it is
# streamed out whole before its member passes the 1 GiB cap: the most a student can cost.
DENSE_RANDOM_BYTES = 24 << 10


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


def runs_files(rng, wrong_by_stage, stages=STAGES, separator="/"):
    """{path: text} of a student's runs/ folder (`separator` "\\" as some Windows zip tools write paths)."""
    files = {}
    for index, stage in enumerate(stages):
        config = {"stage": stage, "seed": 0, "data_fingerprint": "ab" * 32, "created": f"2026-01-0{index + 1}"}
        files[separator.join(("runs", stage, "config.json"))] = json.dumps(config)
        files[separator.join(("runs", stage, "confusion_matrix.csv"))] = stage_matrix(rng, wrong_by_stage(stage))
    return files


def zipped(files):
    """A zip of {name: text or bytes}, in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def runs_zip(rng, wrong_by_stage, stages=STAGES):
    """A student's runs/ folder zipped in memory."""
    return zipped(runs_files(rng, wrong_by_stage, stages))


def honest_uploads(rng):
    """{upload name: zip bytes}: honest runs under odd names (one zip written with backslash paths)."""
    uploads = {name: runs_zip(rng, lambda stage: 0) for name in HONEST_NAMES}
    uploads["windows_3012_1_runs.zip"] = zipped(runs_files(rng, lambda stage: 0, separator="\\"))
    return uploads


def hostile_uploads(rng, folder, bomb_mib):
    """{upload name: bytes}: what each hostile student hands in (the bomb is built on disk in `folder`)."""
    def with_matrix(data):
        files = runs_files(rng, lambda stage: 0)
        files["runs/large_frozen/confusion_matrix.csv"] = data
        return zipped(files)

    deep = zipped({"a.zip": zipped({"b.zip": zipped({"c.zip": runs_zip(rng, lambda stage: 0)})})})
    config = runs_files(rng, lambda stage: 0)
    config["runs/large_frozen/config.json"] = "[" * 100_000 + "]" * 100_000
    return {"columns_4001_1_runs.zip": with_matrix(b"," * ((1 << 20) - 1)),
            "lines_4002_1_runs.zip": with_matrix(b"\n" * ((1 << 20) - 1)),
            "nested_json_4003_1_runs.zip": zipped(config),
            "tar_4004_1_runs.tar.gz": b"\x1f\x8b" + bytes(100), "sevenzip_4005_1_runs.7z": b"7z\xbc\xaf" + bytes(100),
            "deep_4006_1_runs.zip": deep, "bomb_4007_1_runs.zip": bomb_upload(folder, bomb_mib),
            "dense_bomb_4008_1_runs.zip": bomb_upload(folder, bomb_mib, DENSE_RANDOM_BYTES)}


def bomb_upload(folder, mib, random_bytes=0):
    """A zip holding a stored zip of `mib` MiB, each MiB `random_bytes` random bytes then zeros (built on disk)."""
    inner, upload = folder / "inner.zip", folder / "bomb_upload.zip"
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_STORED) as archive, \
            archive.open("padding.bin", "w", force_zip64=True) as member:
        for _ in range(mib):
            member.write(rng.bytes(random_bytes) + bytes((1 << 20) - random_bytes))
    with zipfile.ZipFile(upload, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(inner, "runs.zip")
    inner.unlink()
    return upload.read_bytes()


def build_class(folder, students, seed=0, hostile=False, bomb_mib=500):
    """The reference runs/ folder and submissions.zip (Canvas-style names) in `folder`."""
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(io.BytesIO(runs_zip(rng, lambda stage: 0))) as reference:
        reference.extractall(folder)  # our own archive, made just above
    uploads = {}
    for number in range(students):
        wrong = rng.integers(0, 3, size=len(STAGES))  # 0-2 images off per stage
        data = runs_zip(rng, lambda stage, wrong=wrong: int(wrong[STAGES.index(stage)]))
        uploads[f"student{number:03d}_{10000 + number}_{20000 + number}_runs.zip"] = data
    if hostile:
        uploads.update({**honest_uploads(rng), **hostile_uploads(rng, folder, bomb_mib)})
    with zipfile.ZipFile(folder / "submissions.zip", "w", zipfile.ZIP_STORED) as archive:
        for name, data in uploads.items():
            archive.writestr(name, data)
    return folder / "runs", folder / "submissions.zip"


def cpu_seconds():
    """CPU time this process has used so far (user + system): a load-independent cost."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def grade_each_hostile(folder, reference):
    """Grade each hostile upload alone, as a class of one; print its wall-clock and CPU seconds."""
    with zipfile.ZipFile(folder / "submissions.zip") as archive:
        names = [name for name in archive.namelist() if re.search(r"_400\d_", name)]
        for name in names:
            alone = folder / "alone.zip"
            with zipfile.ZipFile(alone, "w", zipfile.ZIP_STORED) as single:
                single.writestr(name, archive.read(name))
            start, cpu = time.perf_counter(), cpu_seconds()
            skinkit_main(["grade", "--reference", str(reference), "--submission", str(alone),
                          "--out", str(folder / "alone.csv")])
            print(f"hostile student {name}: {time.perf_counter() - start:.1f} s wall, "
                  f"{cpu_seconds() - cpu:.1f} s CPU")


def peak_memory_mib():
    """This process's peak resident memory so far, in MiB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def main(argv=None):
    """Build the class, grade it, print the time (and peak memory)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--hostile", action="store_true", help="add the hostile students")
    parser.add_argument("--bomb-mib", type=int, default=500, help="size of the hostile stored zip (MiB)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        reference, submissions = build_class(Path(tmp), args.students, hostile=args.hostile, bomb_mib=args.bomb_mib)
        print(f"class zip: {submissions.stat().st_size / (1 << 20):.1f} MiB; built with peak memory "
              f"{peak_memory_mib():.0f} MiB")
        start, cpu = time.perf_counter(), cpu_seconds()
        code = skinkit_main(["grade", "--reference", str(reference), "--submission", str(submissions),
                             "--out", f"{tmp}/gradebook.csv", "--feedback", f"{tmp}/feedback"])
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        rows = len(pd.read_csv(f"{tmp}/gradebook.csv"))
        print(f"graded {rows} students x {len(STAGES)} stages in {seconds:.1f} s, {cpu:.1f} s CPU (exit code "
              f"{code}, gradebook and feedback files included); peak memory {peak_memory_mib():.0f} MiB")
        if args.hostile:
            grade_each_hostile(Path(tmp), reference)
    return seconds


if __name__ == "__main__":
    main()
