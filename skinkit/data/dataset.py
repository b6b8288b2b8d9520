"""Course-format datasets: label-prefixed grayscale images, decoded once and kept in memory."""

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import tv_tensors

from ..classes import CLASS_CODES, LABEL_BY_DIGIT, NUM_CLASSES
from ..errors import KitError
from ..progress import progress_bar

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
# Images beyond this many decoded bytes are decoded again on every access instead of cached,
# so memory stays bounded on collections larger than the course set (4,000 x 300x300 = 360 MB).
DEFAULT_CACHE_BYTES = 2 * 1024**3
COURSE_FORMAT = ("a course-format dataset holds train/, val/ and test/ folders of images named "
                 "like 5_ISIC_0024310.png")


class DatasetError(KitError, ValueError):
    """A dataset folder or file that breaks the course-format rules."""

    title = "Data problem"


def is_hidden(path):
    """True for OS and Jupyter clutter (.DS_Store, ._*, .ipynb_checkpoints) that is never data."""
    return path.name.startswith(".")


def label_from_filename(path):
    """Label 0-6 from a `<digit>_<anything>` file name, or a DatasetError naming the file."""
    digit, sep, _ = path.name.partition("_")
    if not sep or not digit.isdigit() or int(digit) not in LABEL_BY_DIGIT:
        raise DatasetError(
            f"{path}: the file name must start with a class digit 1-7 and an underscore "
            f"(e.g. 5_ISIC_0024310.png); rename or remove this file."
        )
    return LABEL_BY_DIGIT[int(digit)]


def list_labelled_images(root):
    """DataFrame (file, label) of the images in a course-format folder, sorted by file name."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder ({COURSE_FORMAT}); "
                           f"`python -m skinkit prepare` builds one.")
    rows = []
    for path in sorted(p for p in root.iterdir() if not is_hidden(p)):
        if path.is_dir():
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise DatasetError(f"{path}: not a .png or .jpg image; move it out of {root}.")
        rows.append((path.name, label_from_filename(path)))
    if not rows:
        raise DatasetError(f"{root}: the folder holds no images; run `python -m skinkit prepare` "
                           f"or point the data root at a course-format dataset.")
    return pd.DataFrame(rows, columns=["file", "label"])


def check_data_root(data_root, splits=("train",), advice="`python -m skinkit prepare` builds one"):
    """Raise a DatasetError naming `data_root` unless it holds course-format `splits` (no image read)."""
    data_root = Path(data_root)
    if not data_root.is_dir():
        raise DatasetError(f"{data_root}: no such folder ({COURSE_FORMAT}); {advice}.")
    missing = [f"{split}/" for split in splits if not (data_root / split).is_dir()]
    if missing:
        raise DatasetError(f"{data_root}: no {' or '.join(missing)} folder in it "
                           f"({COURSE_FORMAT}); {advice}.")
    for split in splits:
        list_labelled_images(data_root / split)


def gray_pixels(image):
    """A PIL image as a uint8 (H, W) array of gray levels; 16-bit images are scaled, not clipped."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        pixels = np.asarray(image, dtype=np.float64)
        return np.clip(np.round(pixels / 65535 * 255), 0, 255).astype(np.uint8)
    return np.asarray(image.convert("L"))


def read_gray(path):
    """Decode one image file as a one-channel uint8 tensor (1, H, W), whatever it is stored as."""
    try:
        with Image.open(path) as image:
            pixels = gray_pixels(image)
    except (OSError, ValueError, SyntaxError) as error:
        raise DatasetError(f"{path}: cannot be read as an image ({error}); "
                           f"replace or delete the file.") from error
    return torch.from_numpy(pixels.copy()).unsqueeze(0)


class SkinLesionDataset(Dataset):
    """A folder of `<digit>_<name>.png|.jpg` images; items are (grayscale image, label 0-6)."""

    def __init__(self, root, transform=None, cache_bytes=DEFAULT_CACHE_BYTES):
        self.root = Path(root)
        self.transform = transform
        self.img_labels = list_labelled_images(self.root)
        self._labels = self.img_labels["label"].tolist()  # per-item pandas lookups cost ~10 us each
        self._cache = []
        files = progress_bar(self.img_labels["file"], desc=f"decoding {self.root.name} images", unit="img",
                             leave=False, delay=1)  # a bar only when decoding takes a while
        for file in files:
            image = read_gray(self.root / file)  # decode everything now: bad files fail early
            if cache_bytes >= image.numel():
                cache_bytes -= image.numel()
                self._cache.append(image)

    def __len__(self):
        return len(self.img_labels)

    def image(self, index):
        """The decoded grayscale image at `index`, from memory when cached."""
        if index < len(self._cache):
            return self._cache[index]
        return read_gray(self.root / self.img_labels["file"].iat[index])

    def __getitem__(self, index):
        image = self.image(index)
        if self.transform:
            image = self.transform(tv_tensors.Image(image))
        return image, self._labels[index]


class AugmentedDataset(Dataset):
    """Repeats each sample `weights[label]` times, drawing a fresh augmentation on every access.

    `length`: cycle those items in order until there are this many (a longer epoch from a small set).
    """

    def __init__(self, base, weights=None, transform=None, length=None):
        if weights is not None and len(weights) != NUM_CLASSES:
            raise ValueError(f"weights needs one repeat count per class ({NUM_CLASSES}), "
                             f"got {len(weights)}")
        self.base = base
        self.transform = transform
        repeats = [1 if weights is None else int(weights[label]) for label in base.img_labels["label"]]
        self.indices = [i for i, n in enumerate(repeats) for _ in range(n)]
        if length is not None:
            self.indices = [self.indices[i % len(self.indices)] for i in range(length)]
        self.img_labels = base.img_labels.iloc[self.indices].reset_index(drop=True)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        image, label = self.base[self.indices[index]]
        return (self.transform(image) if self.transform else image), label


def class_counts(labels):
    """Images per class code, in class order, zeros included."""
    counts = pd.Series(labels).value_counts().reindex(range(NUM_CLASSES), fill_value=0)
    counts.index = list(CLASS_CODES)
    return counts
