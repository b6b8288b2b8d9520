"""The seven HAM10000 lesion classes and the project report's class weights."""

import pandas as pd

LESION_CLASSES = pd.DataFrame(
    [
        ("akiec", 1, 0, "Actinic keratoses / intraepithelial carcinoma"),
        ("bcc", 2, 1, "Basal cell carcinoma"),
        ("bkl", 3, 2, "Benign keratosis-like lesions"),
        ("df", 4, 3, "Dermatofibroma"),
        ("mel", 5, 4, "Melanoma"),
        ("nv", 6, 5, "Melanocytic nevi"),
        ("vasc", 7, 6, "Vascular lesions"),
    ],
    columns=["code", "digit", "label", "name"],
)

CLASS_CODES = tuple(LESION_CLASSES["code"])
NUM_CLASSES = len(CLASS_CODES)
LABEL_BY_DIGIT = dict(zip(LESION_CLASSES["digit"], LESION_CLASSES["label"]))
LABEL_BY_CODE = dict(zip(LESION_CLASSES["code"], LESION_CLASSES["label"]))
DIGIT_BY_CODE = dict(zip(LESION_CLASSES["code"], LESION_CLASSES["digit"]))

# Loss weights per class (akiec, bcc, bkl, df, mel, nv, vasc), as tuned in the project report.
CLASS_WEIGHTS_LARGE_TRAIN = (3.0, 2.2, 2.0, 5.0, 3.0, 1.0, 5.0)
CLASS_WEIGHTS_LARGE_FINETUNE = (3.0, 2.2, 2.0, 7.0, 3.0, 1.0, 5.0)
CLASS_WEIGHTS_SMALL_TRAIN = (3.0, 3.0, 2.0, 5.0, 3.0, 1.0, 6.0)
CLASS_WEIGHTS_SMALL_FINETUNE = (3.0, 3.0, 2.0, 5.0, 3.0, 1.0, 5.0)

# How many times each training image is repeated (with a fresh augmentation each time).
OVERSAMPLING_WEIGHTS = (4, 4, 2, 6, 2, 1, 6)
