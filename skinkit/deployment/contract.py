"""What an exported model takes and gives: uint8 gray S x S images in, 7 class probabilities out.

A camera app has 8-bit pixels, so the graph starts from them: it converts to float, spreads the
gray channel over the three the weights expect and normalises as the ImageNet weights do (the
kit's own constants, `data.transforms.weights_preprocessing`). Softmax is inside too. What stays
outside is the geometry: the course's square gray image, resized and centre-cropped to S as
validation does it (`BatchAugment(train=False)`), then rounded to 8 bits (`inputs.crop_to_input`).
"""

from importlib.metadata import version

import torch
from torch import nn

from ..classes import CLASS_CODES
from ..data.transforms import weights_preprocessing
from ..training.stage import load_stage_model

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


class TorchClassifier:
    """A DeployableModel run by PyTorch eagerly on the CPU, called like `runtime.OnnxClassifier`."""

    def __init__(self, deployable, stage, image_size):
        self.model = deployable.eval()
        self.architecture, self.stage = deployable.model.architecture, stage
        self.resize, self.image_size = input_size(self.architecture, image_size)

    def __call__(self, images):
        with torch.inference_mode():
            return self.model(torch.as_tensor(images)).numpy()


def stage_classifier(runs_root, stage):
    """The PyTorch model of a finished stage, with its normalisation and softmax, as a TorchClassifier."""
    model, config = load_stage_model(runs_root, stage)
    size = input_size(config["model"], config["image_size"])[1]
    return TorchClassifier(DeployableModel(model, size), stage, size)


def deployable_stage(runs_root, stage):
    """A finished stage's model wrapped for export (DeployableModel), and the metadata its file carries."""
    model, config = load_stage_model(runs_root, stage)
    size = input_size(config["model"], config["image_size"])[1]
    return DeployableModel(model, size), metadata(stage, config["model"], size, config["pretrained"])


def metadata(stage, model_name, image_size, pretrained):
    """The ONNX metadata_props: the contract a camera app needs, and where the model came from, as strings."""
    resize, crop = input_size(model_name, image_size)
    return {"classes": ",".join(CLASS_CODES), "image_size": str(crop), "resize": str(resize),
            "architecture": model_name, "stage": stage, "skinkit_version": version("skinkit"),
            "pretrained": str(bool(pretrained)).lower(), "preprocessing": PREPROCESSING}
