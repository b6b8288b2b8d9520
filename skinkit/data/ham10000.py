"""A HAM10000 download in either public layout, read into one metadata table.

- Dataverse (the dataset's publishers): `HAM10000_metadata.csv` and the `ISIC_*.jpg` images in
  the folder itself, in `images/`, or split over `HAM10000_images_part_1/` and `_part_2/`.
- ISIC 2018 challenge (Task 3 training data): a one-hot ground-truth CSV, a lesion-groupings
  CSV and the images in `ISIC2018_Task3_Training_Input/` (what `skinkit download` fetches).
  Age, sex and body site come from the ISIC 2019 training metadata beside them, when present.

Either way the table carries `age`, `sex` and `localization` (and Dataverse's `dataset` where
its CSV has one) when the source has them: the patient metadata notebook 08 groups images by.
"""

from pathlib import Path

import pandas as pd

from ..classes import CLASS_CODES
from ..errors import PrepareError

DATAVERSE_CSV = "HAM10000_metadata.csv"
DATAVERSE_IMAGE_FOLDERS = ("images", ".", "HAM10000_images_part_1", "HAM10000_images_part_2")
REQUIRED_COLUMNS = ("lesion_id", "image_id", "dx")

ISIC_IMAGES_DIR = "ISIC2018_Task3_Training_Input"
ISIC_GROUND_TRUTH_DIR = "ISIC2018_Task3_Training_GroundTruth"
ISIC_GROUND_TRUTH_CSV = f"{ISIC_GROUND_TRUTH_DIR}/{ISIC_GROUND_TRUTH_DIR}.csv"
ISIC_GROUPINGS_CSV = "ISIC2018_Task3_Training_LesionGroupings.csv"
ONE_HOT_COLUMNS = ("image", *(code.upper() for code in CLASS_CODES))
GROUPING_COLUMNS = ("image", "lesion_id")
# Patient metadata copied into manifest.csv when the source has it.
METADATA_COLUMNS = ("age", "sex", "localization", "dataset")
# The ISIC 2019 training metadata (it covers the HAM10000 images): its column -> ours.
ISIC_METADATA_CSV = "ISIC_2019_Training_Metadata.csv"
ISIC_METADATA_NAMES = {"age_approx": "age", "sex": "sex", "anatom_site_general": "localization"}


# Images in the published release (Tschandl et al. 2018), in either layout.
HAM10000_IMAGES = 10015

def read_csv(csv_path, columns, handle=None):
    """A CSV file (read from `handle` if given) as a table of strings, checked for `columns`."""
    try:
        table = pd.read_csv(csv_path if handle is None else handle, dtype=str)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise PrepareError(f"{csv_path}: cannot be read as a CSV table ({error}).") from error
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise PrepareError(f"{csv_path}: missing column(s) {', '.join(missing)}; "
                           f"expected at least {', '.join(columns)}.")
    return table


def read_dataverse_table(source):
    """lesion_id, image_id, dx of the Dataverse layout's metadata CSV."""
    return read_csv(source / DATAVERSE_CSV, REQUIRED_COLUMNS), source / DATAVERSE_CSV


def one_hot_to_dx(truth, csv_path):
    """The class code of each one-hot ground-truth row (exactly one 1 per row)."""
    columns = list(ONE_HOT_COLUMNS[1:])
    values = truth[columns].apply(pd.to_numeric, errors="coerce")
    not_one_hot = ~values.isin([0, 1]).all(axis=1) | (values.sum(axis=1) != 1)
    if not_one_hot.any():
        row = int(not_one_hot.to_numpy().argmax())
        raise PrepareError(f"{csv_path}: row {row + 1} (image {truth['image'].iat[row]}) must hold "
                           f"exactly one 1 in {', '.join(columns)}.")
    return values.idxmax(axis=1).str.lower()


def read_isic_table(source):
    """lesion_id, image_id, dx of the ISIC 2018 layout (ground truth joined to lesion groupings)."""
    truth_csv, groupings_csv = source / ISIC_GROUND_TRUTH_CSV, source / ISIC_GROUPINGS_CSV
    truth = read_csv(truth_csv, ONE_HOT_COLUMNS)
    if not groupings_csv.is_file():
        raise PrepareError(f"{groupings_csv}: lesion groupings CSV not found; it belongs beside "
                           f"{ISIC_GROUND_TRUTH_DIR}/ (python -m skinkit download fetches both).")
    lesions = read_csv(groupings_csv, GROUPING_COLUMNS).set_index("image")["lesion_id"]
    ungrouped = truth.loc[~truth["image"].isin(lesions.index), "image"]
    if len(ungrouped):
        raise PrepareError(f"{groupings_csv}: no lesion_id for image {ungrouped.iat[0]} "
                           f"({len(ungrouped)} image(s) of the ground truth in all).")
    lesions = lesions[~lesions.index.duplicated()]
    meta = pd.DataFrame({"lesion_id": truth["image"].map(lesions), "image_id": truth["image"],
                         "dx": one_hot_to_dx(truth, truth_csv)})
    patients = isic_patient_metadata(source)
    return (meta if patients is None else meta.join(patients, on="image_id")), truth_csv


def isic_patient_metadata(source):
    """age, sex, localization by image from the ISIC 2019 metadata CSV beside the release, or None."""
    csv_path = source / ISIC_METADATA_CSV
    if not csv_path.is_file():
        return None
    table = read_csv(csv_path, ("image", *ISIC_METADATA_NAMES))
    table = table.drop_duplicates("image").set_index("image")
    return table[list(ISIC_METADATA_NAMES)].rename(columns=ISIC_METADATA_NAMES)


def check_rows(meta, csv_path):
    """Raise a PrepareError for an empty cell, a repeated image_id or an unknown dx."""
    blank = meta[list(REQUIRED_COLUMNS)].isna()
    if blank.any(axis=None):
        row = int(blank.any(axis=1).to_numpy().argmax())
        column = blank.columns[blank.iloc[row].to_numpy()][0]
        raise PrepareError(f"{csv_path}: empty {column} in row {row + 1} (after the header); "
                           f"every row needs {', '.join(REQUIRED_COLUMNS)}.")
    repeated = meta.loc[meta["image_id"].duplicated(), "image_id"]
    if len(repeated):
        raise PrepareError(f"{csv_path}: duplicate image_id {repeated.iat[0]} (listed more than once); "
                           f"keep one row per image.")
    unknown = sorted(set(meta["dx"]) - set(CLASS_CODES))
    if unknown:
        raise PrepareError(f"{csv_path}: unknown dx value(s) {unknown}; expected one of {CLASS_CODES}.")


def index_images(source, folders):
    """{image id: path} of the .jpg/.png files in `folders` of `source` (the first folder wins)."""
    found = {}
    for folder in folders:
        for suffix in (".jpg", ".png"):
            for path in sorted((source / folder).glob(f"*{suffix}")):
                found.setdefault(path.stem, path)
    return found


def read_metadata(source):
    """The metadata table (lesion_id, image_id, dx, path) of a download in either layout."""
    source = Path(source)
    if (source / DATAVERSE_CSV).is_file():
        (meta, csv_path), folders = read_dataverse_table(source), DATAVERSE_IMAGE_FOLDERS
    elif (source / ISIC_GROUND_TRUTH_CSV).is_file():
        (meta, csv_path), folders = read_isic_table(source), (ISIC_IMAGES_DIR,)
    else:
        raise PrepareError(f"{source / DATAVERSE_CSV}: metadata CSV not found (nor the ISIC 2018 "
                           f"{ISIC_GROUND_TRUTH_CSV}); --ham10000 must be the folder holding "
                           f"HAM10000_metadata.csv and images/, or what `python -m skinkit download` made.")
    check_rows(meta, csv_path)
    images = index_images(source, folders)
    meta["path"] = meta["image_id"].map(images)
    return meta


def check_images_exist(meta, source):
    """Raise a PrepareError naming the listed images that are missing (the first ten)."""
    missing = meta.loc[meta["path"].isna(), "image_id"]
    if len(missing):
        shown = ", ".join(f"{image_id}.jpg" for image_id in missing.iloc[:10])
        raise PrepareError(f"{source}: image {missing.iat[0]}.jpg listed in the metadata is missing "
                           f"({len(missing)} missing in all: {shown}{', ...' if len(missing) > 10 else ''}); "
                           f"restore the images or remove their rows.")
