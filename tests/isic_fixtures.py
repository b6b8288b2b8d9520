"""HAM10000 sources in both public layouts, and the ISIC 2018 release files, for the tests.

Built from a metadata table (lesion_id, image_id, dx, and age, sex, localization when it has
them) and a folder of `<image_id>.jpg` files.
"""

import io
import shutil
import zipfile
from pathlib import Path

import pandas as pd
from PIL import Image

from skinkit.data.ham10000 import (
    ISIC_GROUND_TRUTH_CSV,
    ISIC_GROUND_TRUTH_DIR,
    ISIC_GROUPINGS_CSV,
    ISIC_IMAGES_DIR,
    ISIC_METADATA_CSV,
    ONE_HOT_COLUMNS,
)

from .conftest import SAMPLE_ROOT

IMAGES_ZIP = "ISIC2018_Task3_Training_Input.zip"
PATIENT_COLUMNS = ["age", "sex", "localization"]
GROUND_TRUTH_ZIP = "ISIC2018_Task3_Training_GroundTruth.zip"


def sample_jpegs(folder):
    """The bundled sample's 105 images as small RGB JPEGs in `folder`; returns their metadata."""
    meta = pd.read_csv(SAMPLE_ROOT / "manifest.csv", dtype=str)
    folder.mkdir(parents=True)
    for row in meta.itertuples():
        with Image.open(SAMPLE_ROOT / row.split / row.file) as image:
            image.convert("RGB").resize((48, 36)).save(folder / f"{row.image_id}.jpg", quality=90)
    return meta[["lesion_id", "image_id", "dx", *PATIENT_COLUMNS]]


def ground_truth_table(meta):
    """The one-hot ground-truth table of the ISIC layout (image, MEL, NV, ... as 1.0 / 0.0)."""
    truth = pd.DataFrame({"image": meta["image_id"]})
    for column in ONE_HOT_COLUMNS[1:]:
        truth[column] = (meta["dx"].str.upper() == column).astype(float)
    return truth


def groupings_table(meta):
    """The lesion-groupings table of the ISIC layout."""
    return pd.DataFrame({"image": meta["image_id"], "lesion_id": meta["lesion_id"],
                         "diagnosis_confirm_type": "histopathology"})


def patient_metadata_table(meta):
    """The ISIC 2019 training metadata of `meta`'s images (its column names, `meta`'s values)."""
    return pd.DataFrame({"image": meta["image_id"], "age_approx": meta["age"],
                         "anatom_site_general": meta["localization"], "lesion_id": meta["lesion_id"],
                         "sex": meta["sex"]})


def write_isic_layout(root, meta, jpegs):
    """An unpacked ISIC 2018 download in `root`: images, ground truth, groupings (and 2019 metadata
    when `meta` has age, sex and localization)."""
    root = Path(root)
    (root / ISIC_GROUND_TRUTH_DIR).mkdir(parents=True)
    shutil.copytree(jpegs, root / ISIC_IMAGES_DIR)
    ground_truth_table(meta).to_csv(root / ISIC_GROUND_TRUTH_CSV, index=False)
    groupings_table(meta).to_csv(root / ISIC_GROUPINGS_CSV, index=False)
    if set(PATIENT_COLUMNS) <= set(meta.columns):
        patient_metadata_table(meta).to_csv(root / ISIC_METADATA_CSV, index=False)
    return root


def write_dataverse_layout(root, meta, jpegs):
    """A Dataverse download in `root`: the metadata CSV and the images split over part_1 / part_2."""
    root = Path(root)
    for part in (1, 2):
        (root / f"HAM10000_images_part_{part}").mkdir(parents=True)
    for number, image_id in enumerate(meta["image_id"]):
        part = 1 + number % 2
        shutil.copy(jpegs / f"{image_id}.jpg", root / f"HAM10000_images_part_{part}" / f"{image_id}.jpg")
    meta.assign(dx_type="histo").to_csv(root / "HAM10000_metadata.csv", index=False)
    return root


def zip_bytes(files, compression=zipfile.ZIP_DEFLATED):
    """A zip archive holding `files` ({name in the zip: bytes})."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def release_files(meta, jpegs, truth=None, groupings=None):
    """{file name: bytes} of the three 2018 files the ISIC bucket serves, in exactly its layout."""
    truth = ground_truth_table(meta) if truth is None else truth
    groupings = groupings_table(meta) if groupings is None else groupings
    images = {f"{ISIC_IMAGES_DIR}/{path.name}": path.read_bytes() for path in sorted(jpegs.glob("*.jpg"))}
    images[f"{ISIC_IMAGES_DIR}/LICENSE.txt"] = b"CC BY-NC 4.0\n"
    return {
        IMAGES_ZIP: zip_bytes(images),
        GROUND_TRUTH_ZIP: zip_bytes({ISIC_GROUND_TRUTH_CSV: truth.to_csv(index=False).encode()}),
        ISIC_GROUPINGS_CSV: groupings.to_csv(index=False).encode(),
    }


def patient_metadata_bytes(meta):
    """The ISIC 2019 training metadata CSV of `meta`'s images, as the bucket's 2019/ folder serves it."""
    return patient_metadata_table(meta).to_csv(index=False).encode()
