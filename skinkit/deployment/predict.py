"""`python -m skinkit predict`: any photo through the course's own preparation and a trained model.

A photo (RGB or gray, JPEG or PNG, any size) is prepared exactly like the course images
(`data.prepare.square_gray`: grayscale, centre square, SQUARE_SIZE pixels), then resized and
centre-cropped like validation (`inputs.crop_to_input`), and classified by the PyTorch stage
model or by an exported ONNX file: both take the same uint8 input and give the same answer: the
top class, the conformal prediction set, or a refusal when the gate finds the photo unlike the
training images (see `skinkit.uncertainty`). The ONNX path never imports PyTorch, so
`predict --onnx` starts in a moment.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from ..classes import CLASS_CODES
from ..data.prepare import SQUARE_SIZE, square_gray
from ..errors import KitError
from ..files import project_root
from ..uncertainty.conformal import prediction_sets
from .inputs import ModelFileError, crop_to_input

TOP = 3
DISCLAIMER = "{stage}: a course model, not a diagnosis; show a doctor any lesion that worries you."
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
REFUSAL = "not like the training images: refer"


class PhotoError(KitError, ValueError):
    """A file given to predict that cannot be read as an image."""

    title = "Unreadable image"


def photo_paths(paths):
    """The photos to classify: each file as given, and the images directly inside each folder (sorted)."""
    found = []
    for path in map(Path, paths):
        images = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES) \
            if path.is_dir() else []
        if images:
            found += images
        else:  # a file, or a folder without images (prepared_photo says so)
            found.append(path)
    return found


def prepared_photo(path):
    """A photo as the course prepares its images: gray, centre square, SQUARE_SIZE px; uint8 array (1, 1, H, W)."""
    path = Path(path)
    if path.is_dir():
        raise PhotoError(f"{path}: a folder without JPEG or PNG photos in it; give photos or a folder of them.")
    if not path.is_file():
        raise PhotoError(f"{path}: no such file; check the path.")
    try:
        square = square_gray(path, SQUARE_SIZE)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:  # PIL's errors
        raise PhotoError(f"{path}: cannot be read as an image ({' '.join(str(error).split())}); "
                         f"give a JPEG or PNG photo.") from None
    return np.array(square)[None, None]


def load_classifier(runs_root="runs", stage="small_finetune", onnx_file=None):
    """The exported `onnx_file` run by onnxruntime, or else the PyTorch model of a finished stage."""
    if onnx_file:
        from .runtime import OnnxClassifier  # onnxruntime, imported only here: `grade` and --help start without it
        return OnnxClassifier(onnx_file)
    from .contract import stage_classifier  # PyTorch, imported only for a stage model
    return stage_classifier(runs_root, stage)


def classify_photo(classifier, path):
    """The seven class probabilities of one photo."""
    return classifier(crop_to_input(prepared_photo(path), classifier.resize, classifier.image_size))[0]


def answer_photo(classifier, path):
    """One photo's answer: top class, prediction set and probabilities, or a refusal by the gate (label None)."""
    if classifier.thresholds is None:
        raise ModelFileError(f"{getattr(classifier, 'path', classifier.stage)}: exported without the gate and "
                             f"the conformal threshold; export the stage again with `python -m skinkit export`.")
    images = crop_to_input(prepared_photo(path), classifier.resize, classifier.image_size)
    probabilities, ood = (output[0] for output in classifier.scores(images))
    inside = bool(ood <= classifier.thresholds["ood_threshold"])
    in_set = prediction_sets(probabilities, classifier.thresholds["conformal_threshold"])
    ranked = [code for code, _ in top_classes(probabilities, len(CLASS_CODES))]
    return {"file": str(path), "label": ranked[0] if inside else None,
            "probabilities": {code: float(p) for code, p in zip(CLASS_CODES, probabilities)},
            "prediction_set": [code for code in ranked if in_set[CLASS_CODES.index(code)]] if inside else [],
            "in_distribution": inside, "ood_score": float(ood)}


def answer_line(answer):
    """'photo.jpg: mel 0.62; set {mel, nv}', or the refusal with its score."""
    if not answer["in_distribution"]:
        return f"{answer['file']}: {REFUSAL} (ood score {answer['ood_score']:.4g})"
    label = answer["label"]
    return (f"{answer['file']}: {label} {answer['probabilities'][label]:.2f}; "
            f"set {{{', '.join(answer['prediction_set'])}}}")


def top_classes(probabilities, count=TOP):
    """The `count` most probable (class code, probability) pairs, most probable first."""
    order = np.argsort(-np.asarray(probabilities), kind="stable")[:count]
    return [(CLASS_CODES[i], float(probabilities[i])) for i in order]


def top_text(probabilities):
    """'mel 0.62, nv 0.21, bkl 0.08': the most probable classes."""
    return ", ".join(f"{code} {p:.2f}" for code, p in top_classes(probabilities))


def prediction_line(path, probabilities):
    """'photo.jpg: mel 0.62, nv 0.21, bkl 0.08'."""
    return f"{path}: {top_text(probabilities)}"


def disclaimer(classifier):
    """The one line saying what the model is (and is not)."""
    return DISCLAIMER.format(stage=classifier.stage)


def example_image():
    """A photo to try first: one image of the bundled sample's validation split."""
    return sorted((project_root() / "data" / "sample" / "val").glob("5_*.png"))[0]
