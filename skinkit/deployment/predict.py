"""`python -m skinkit predict`: any photo through the course's own preparation and a trained model.

A photo (RGB or gray, JPEG or PNG, any size) is prepared exactly like the course images
(`data.prepare.square_gray`: grayscale, centre square, SQUARE_SIZE pixels), then resized and
centre-cropped like validation (`inputs.crop_to_input`), and classified by the PyTorch stage
model or by an exported ONNX file: both take the same uint8 input. The ONNX path never imports
PyTorch, so `predict --onnx` starts in a moment.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from ..classes import CLASS_CODES
from ..data.prepare import SQUARE_SIZE, square_gray
from ..errors import KitError
from ..files import project_root
from .inputs import crop_to_input

TOP = 3
DISCLAIMER = "{stage}: a course model, not a diagnosis; show a doctor any lesion that worries you."


class PhotoError(KitError, ValueError):
    """A file given to predict that cannot be read as an image."""

    title = "Unreadable image"


def prepared_photo(path):
    """A photo as the course prepares its images: gray, centre square, SQUARE_SIZE px; uint8 array (1, 1, H, W)."""
    path = Path(path)
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
