"""What an exported model takes and gives: uint8 gray S x S images in, 7 class probabilities out
(temperature-scaled) and, with a gate, each image's `ood_score` (its squared Mahalanobis distance
to the nearest training class mean, or, for a frame without contrast, a score above any threshold:
`uncertainty.gate.gate_score`).

A camera app has 8-bit pixels, so the graph starts from them: it converts to float, spreads the
gray channel over the three the weights expect and normalises as the ImageNet weights do (the
kit's own constants, `data.transforms.weights_preprocessing`). Softmax is inside too. What stays
outside is the geometry: the course's square gray image, resized and centre-cropped to S as
validation does it (`BatchAugment(train=False)`), then rounded to 8 bits (`inputs.crop_to_input`).
"""

import copy
import sys
from functools import partial
from importlib.metadata import version

import torch
from torch import nn

from ..classes import CLASS_CODES
from ..data.transforms import weights_preprocessing
from ..training.stage import load_stage_model
from ..uncertainty.gate import MIN_CONTRAST, gate_score
from ..uncertainty.stage import stage_uncertainty

PREPROCESSING = ("input uint8 [N,1,S,S] gray, already resized and centre-cropped to S; inside: "
                 "/255, gray -> 3 channels, ImageNet mean/std; output softmax [N,7] of logits / temperature, "
                 "and ood_score [N] (squared Mahalanobis distance of the pooled features to the nearest class mean; "
                 f"the largest float32 when the input's gray levels have a standard deviation below "
                 f"{MIN_CONTRAST:g}: a blank frame)")


def temperature_folded(model, temperature):
    """A copy of `model` whose last layer gives logits / temperature (the graph keeps its shape)."""
    model = copy.deepcopy(model)
    last = model.classifier[-1]
    with torch.no_grad():
        last.weight /= temperature
        last.bias /= temperature
    return model


class DeployableModel(nn.Module):
    """A trained classifier with the kit's evaluation normalisation and softmax around it, and optionally
    its temperature and gate (`uncertainty`: stage_uncertainty's statistics): then it also returns ood_score."""

    def __init__(self, model, image_size, uncertainty=None):
        super().__init__()
        _, _, mean, std = weights_preprocessing(model.architecture, image_size)
        self.gated = uncertainty is not None
        if self.gated:
            model = temperature_folded(model, uncertainty["temperature"])
            self.register_buffer("means", torch.tensor(uncertainty["means"], dtype=torch.float32))
            self.register_buffer("precision", torch.tensor(uncertainty["precision"], dtype=torch.float32))
        self.model = model.eval()
        # (x / 255 - mean) / std as one multiply-add; broadcasting the single gray channel against
        # the three per-channel constants repeats it into three channels.
        std = torch.tensor(std).view(1, 3, 1, 1)
        self.register_buffer("scale", 1.0 / (255.0 * std))
        self.register_buffer("shift", -torch.tensor(mean).view(1, 3, 1, 1) / std)

    def forward(self, image):
        images = image.float() * self.scale + self.shift
        if not self.gated:
            return self.model(images).softmax(dim=1)
        features = self.model.avgpool(self.model.features(images)).flatten(1)
        difference = features.unsqueeze(1) - self.means  # (N, 7, D)
        distances = ((difference @ self.precision) * difference).sum(dim=-1)
        # blank frames are marked per class, before the minimum: onnxruntime's symbolic shape
        # inference (int8 pre-processing) cannot follow a Where placed after ReduceMin
        return self.model.classifier(features).softmax(dim=1), gate_score(distances, image).amin(dim=1)


def input_size(model_name, image_size):
    """(resize, crop) of the stage's evaluation preprocessing; crop is the model's input side S."""
    resize, crop, _, _ = weights_preprocessing(model_name, image_size)
    return resize, crop


class TorchClassifier:
    """A DeployableModel run by PyTorch eagerly on the CPU, called like `runtime.OnnxClassifier`."""

    def __init__(self, deployable, stage, image_size, thresholds=None):
        self.model = deployable.eval()
        self.architecture, self.stage = deployable.model.architecture, stage
        self.resize, self.image_size = input_size(self.architecture, image_size)
        self.thresholds = thresholds  # {"conformal_threshold", "ood_threshold"} of a gated model

    def scores(self, images):
        """(probabilities (N, 7), ood scores (N,)) of a gated model."""
        with torch.inference_mode():
            return tuple(output.numpy() for output in self.model(torch.as_tensor(images)))

    def __call__(self, images):
        if self.model.gated:
            return self.scores(images)[0]
        with torch.inference_mode():
            return self.model(torch.as_tensor(images)).numpy()


def deployable_stage(runs_root, stage, data_root=None, say=None):
    """A finished stage's model wrapped for export (temperature and gate included), and its file's metadata."""
    model, config = load_stage_model(runs_root, stage)
    size = input_size(config["model"], config["image_size"])[1]
    uncertainty = stage_uncertainty(runs_root, stage, data_root, say=say)
    return (DeployableModel(model, size, uncertainty),
            metadata(stage, config["model"], size, config["pretrained"], uncertainty))


def stage_classifier(runs_root, stage, data_root=None):
    """The PyTorch model of a finished stage, with its normalisation, temperature, softmax and gate."""
    # on stderr: predict --json keeps stdout for its answers
    deployable, props = deployable_stage(runs_root, stage, data_root, say=partial(print, file=sys.stderr))
    size = int(props["image_size"])
    return TorchClassifier(deployable, stage, size, thresholds(props))


def thresholds(values):
    """The two thresholds an answer needs, the conformal set's and the gate's, from statistics or metadata."""
    return {key: float(values[key]) for key in ("conformal_threshold", "ood_threshold")}


def metadata(stage, model_name, image_size, pretrained, uncertainty=None):
    """The ONNX metadata_props: the contract a camera app needs, and where the model came from, as strings."""
    resize, crop = input_size(model_name, image_size)
    gate = {} if uncertainty is None else {key: repr(float(uncertainty[key])) for key in
                                           ("temperature", "alpha", "conformal_threshold", "ood_threshold")}
    return {"classes": ",".join(CLASS_CODES), "image_size": str(crop), "resize": str(resize),
            "architecture": model_name, "stage": stage, "skinkit_version": version("skinkit"),
            "pretrained": str(bool(pretrained)).lower(), "preprocessing": PREPROCESSING, **gate}
