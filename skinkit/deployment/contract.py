"""What an exported model takes and gives: uint8 gray S x S images in, 7 class probabilities out.

A camera app has 8-bit pixels, so the graph starts from them: it converts to float, spreads the
gray channel over the three the weights expect and normalises as the ImageNet weights do (the
kit's own constants, `data.transforms.weights_preprocessing`). Softmax is inside too. What stays
outside is the geometry: the course's square gray image, resized and centre-cropped to S exactly
as validation does it (`BatchAugment(train=False)`), then rounded to 8 bits.
"""

from importlib.metadata import version

import torch
from torch import nn

from ..classes import CLASS_CODES
from ..data.augment import BatchAugment
from ..data.transforms import weights_preprocessing

INPUT_NAME, OUTPUT_NAME = "image", "probabilities"
PREPROCESSING = ("input uint8 [N,1,S,S] gray, already resized and centre-cropped to S; inside: "
                 "/255, gray -> 3 channels, ImageNet mean/std; output softmax [N,7]")


class DeployableModel(nn.Module):
    """A trained classifier with the kit's evaluation normalisation and softmax around it."""

    def __init__(self, model, image_size):
        super().__init__()
        _, _, mean, std = weights_preprocessing(model.architecture, image_size)
        self.model = model.eval()
        # (x / 255 - mean) / std as one multiply-add; broadcasting the single gray channel against
        # the three per-channel constants repeats it into three channels.
        std = torch.tensor(std).view(1, 3, 1, 1)
        self.register_buffer("scale", 1.0 / (255.0 * std))
        self.register_buffer("shift", -torch.tensor(mean).view(1, 3, 1, 1) / std)

    def forward(self, image):
        return self.model(image.float() * self.scale + self.shift).softmax(dim=1)


def input_size(model_name, image_size):
    """(resize, crop) of the stage's evaluation preprocessing; crop is the model's input side S."""
    resize, crop, _, _ = weights_preprocessing(model_name, image_size)
    return resize, crop


def crop_to_input(images, model_name, image_size):
    """uint8 gray (N, 1, H, W) images -> uint8 (N, 1, S, S): validation's resize and centre crop, rounded."""
    augment = BatchAugment(model_name, image_size, train=False)
    angle, flip_x, flip_y, _, _ = augment.sample_params(len(images))  # the identity: no augmentation
    gray = augment.warp(images, angle, flip_x, flip_y)
    return gray.round().clamp(0, 255).to(torch.uint8)


def metadata(stage, model_name, image_size, pretrained):
    """The ONNX metadata_props: the contract a camera app needs, and where the model came from, as strings."""
    resize, crop = input_size(model_name, image_size)
    return {"classes": ",".join(CLASS_CODES), "image_size": str(crop), "resize": str(resize),
            "architecture": model_name, "stage": stage, "skinkit_version": version("skinkit"),
            "pretrained": str(bool(pretrained)).lower(), "preprocessing": PREPROCESSING}
