"""Build a course-format dataset (train/val/test folders of gray square PNGs) from HAM10000.

The source may be in either public layout (see `skinkit.data.ham10000`): the same images give
byte-identical output from both.
"""

import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm.auto import tqdm

from ..classes import CLASS_CODES, DIGIT_BY_CODE, LABEL_BY_CODE
from ..errors import PrepareError
from .ham10000 import METADATA_COLUMNS, check_images_exist, read_metadata

SPLITS = ("train", "val", "test")
MANIFEST_COLUMNS = ["file", "image_id", "lesion_id", "dx", "label", "split"]
SQUARE_SIZE = 300  # side in pixels of the course's square images (the project report's)
_VAL_COUNTS = (36, 60, 102, 15, 97, 670, 20)
# Images per class (akiec ... vasc) per split. `course` reproduces the project report's counts.
PRESETS = {
    "course": {"train": (112, 148, 343, 36, 253, 2073, 35), "val": _VAL_COUNTS, "test": _VAL_COUNTS},
    "sample": {split: (5,) * len(CLASS_CODES) for split in SPLITS},
}


def assign_class(class_rows, counts, rng, code):
    """Split one class's rows lesion-disjointly into exactly `counts[split]` images per split."""
    lesions = class_rows.groupby("lesion_id", sort=True)["image_id"].apply(sorted)
    order = rng.permutation(len(lesions))
    need = dict(counts)
    picked = {split: [] for split in need}
    for position in order:
        images = lesions.iat[position]
        open_splits = [s for s in need if need[s] > 0]
        if not open_splits:
            break
        # Fill the split that is furthest from done; a lesion never spans two splits (its
        # surplus images are left out when it is larger than the room left).
        split = max(open_splits, key=lambda s: need[s] / max(counts[s], 1))
        taken = images[:need[split]]
        picked[split] += taken
        need[split] -= len(taken)
    short = {s: n for s, n in need.items() if n > 0}
    if short:
        raise PrepareError(f"class {code!r} ran short: {len(class_rows)} images in "
                           f"{len(lesions)} lesions cannot fill {dict(counts)} (missing {short}).")
    return picked


def plan_splits(meta, preset, seed):
    """Manifest rows (image_id, lesion_id, dx, label, split) for the chosen preset."""
    rng = np.random.default_rng(seed)
    if preset == "all-test":
        plan = meta.assign(split="test")
    else:
        parts = []
        for label, code in enumerate(CLASS_CODES):
            rows = meta[meta["dx"] == code]
            counts = {split: PRESETS[preset][split][label] for split in SPLITS}
            for split, image_ids in assign_class(rows, counts, rng, code).items():
                parts.append(rows[rows["image_id"].isin(image_ids)].assign(split=split))
        plan = pd.concat(parts)
    plan = plan.assign(label=plan["dx"].map(LABEL_BY_CODE))
    plan["file"] = [f"{DIGIT_BY_CODE[dx]}_{image_id}.png" for dx, image_id in zip(plan["dx"], plan["image_id"])]
    plan["split"] = pd.Categorical(plan["split"], SPLITS)
    return plan.sort_values(["split", "file"]).reset_index(drop=True)


def square_gray(path, size):
    """The image at `path` as a centre-cropped square, grayscale, `size` x `size` PIL image."""
    with Image.open(path) as image:
        image = image.convert("L")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        return image.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)


def convert_image(job):
    """Write one source image as a square gray PNG: job = (source path, target path, size)."""
    source, target, size = job
    try:
        image = square_gray(source, size)
    except (OSError, ValueError, SyntaxError) as error:  # PIL's errors for broken files
        raise PrepareError(f"{source}: cannot be read as an image ({error}); "
                           f"replace the file or remove its row from the metadata.") from error
    image.save(target)


def write_dataset(plan, out, size):
    """Write the PNGs and manifest.csv of `plan` into the new folder `out`."""
    for split in SPLITS:
        (out / split).mkdir(parents=True)
    jobs = [(row.path, out / row.split / row.file, size) for row in plan.itertuples()]
    workers = min(4, os.cpu_count() or 1)
    with ProcessPoolExecutor(workers) as pool:
        list(tqdm(pool.map(convert_image, jobs, chunksize=32), total=len(jobs), desc="images"))
    columns = MANIFEST_COLUMNS + [column for column in METADATA_COLUMNS if column in plan]
    plan[columns].to_csv(out / "manifest.csv", index=False)


def prepare(ham10000, out, size=SQUARE_SIZE, seed=0, preset="course"):
    """Build the course-format dataset in `out` (which must not exist yet); returns the manifest.

    The manifest's attrs["release_images"] is how many images the source release listed.
    """
    out = Path(out)
    if preset not in (*PRESETS, "all-test"):
        raise PrepareError(f"unknown preset {preset!r}: choose course, sample or all-test.")
    if out.exists():
        raise PrepareError(f"{out}: already exists; choose a new --out folder or delete this one.")
    meta = read_metadata(ham10000)
    check_images_exist(meta, ham10000)
    plan = plan_splits(meta, preset, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Build in a temporary sibling and rename at the end: a failure never leaves a half-written --out.
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        write_dataset(plan, staging / "data", size)
        (staging / "data").rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    manifest = plan.drop(columns="path")
    manifest.attrs["release_images"] = len(meta)
    return manifest
