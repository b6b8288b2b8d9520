"""The seven HAM10000 lesion classes: codes, class digits (file names), labels (model outputs) and names."""

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
