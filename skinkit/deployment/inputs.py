"""What an exported model is fed, in NumPy so that `predict --onnx` runs without PyTorch.

The graph's input and output names, the error for a model file the kit cannot use, and the
geometry left outside the graph: validation's resize and centre crop (`BatchAugment(train=False)`:
one bilinear `grid_sample`, align_corners False, zeros outside the image) on uint8 gray images,
rounded back to 8 bits. Without rotation that sampling is separable, so it is one weight matrix
per image side.
"""

import numpy as np

from ..errors import KitError

INPUT_NAME, OUTPUT_NAME, OOD_NAME = "image", "probabilities", "ood_score"
OUTPUT_NAMES = (OUTPUT_NAME, OOD_NAME)  # every output of an exported (gated) model, the probabilities first


class ModelFileError(KitError, ValueError):
    """A file given as an exported model that the kit cannot use."""

    title = "Unusable model file"


def resampling_weights(source_size, resize, crop):
    """(crop, source_size) weights: a side resized to `resize` pixels, then its centre `crop` kept."""
    centres = (2 * np.arange(crop) + 1) / crop - 1  # output pixel centres, from -1 to 1
    position = ((centres * crop / resize + 1) * source_size - 1) / 2  # where they fall, in source pixels
    left = np.floor(position).astype(int)
    right_share = position - left
    # One extra column either side stands for the zeros outside the image (dropped at the end).
    weights = np.zeros((crop, source_size + 2), dtype=np.float32)
    weights[np.arange(crop), left + 1] = 1 - right_share
    weights[np.arange(crop), left + 2] = right_share
    return weights[:, 1:-1]


def crop_to_input(images, resize, crop):
    """uint8 gray (N, 1, H, W) images -> uint8 (N, 1, crop, crop): validation's resize and centre crop, rounded."""
    images = np.asarray(images, dtype=np.float32)
    rows = resampling_weights(images.shape[2], resize, crop)
    columns = resampling_weights(images.shape[3], resize, crop)
    return np.clip(np.rint(rows @ images @ columns.T), 0, 255).astype(np.uint8)
