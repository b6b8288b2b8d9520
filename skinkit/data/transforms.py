"""Train and eval preprocessing (transforms v2) on one-channel uint8 image tensors."""

import torch
from torchvision import models
from torchvision.transforms import v2

# The ImageNet weights of each model; their preprocessing is what the images get here.
IMAGENET_WEIGHTS = {
    "large": models.MobileNet_V3_Large_Weights.DEFAULT,
    "small": models.MobileNet_V3_Small_Weights.IMAGENET1K_V1,
}


def pretrained_weights(name):
    """The torchvision weights enum entry used for model `name` ("large" or "small")."""
    if name not in IMAGENET_WEIGHTS:
        raise ValueError(f"unknown model {name!r}: choose one of {sorted(IMAGENET_WEIGHTS)}")
    return IMAGENET_WEIGHTS[name]


def weights_preprocessing(model_name, image_size=None):
    """(resize, crop, mean, std) of the ImageNet weights' own preprocessing, crop scaled to `image_size`."""
    preset = pretrained_weights(model_name).transforms()
    resize, crop = preset.resize_size[0], preset.crop_size[0]
    if image_size is not None and image_size != crop:
        resize, crop = round(resize * image_size / crop), image_size
    return resize, crop, list(preset.mean), list(preset.std)


def _preprocessing(model_name, image_size):
    """Resize and crop as the pretrained weights expect, then gray -> 3 channels, ImageNet-normalised."""
    resize, crop, mean, std = weights_preprocessing(model_name, image_size)
    return [
        v2.Resize(resize, antialias=True),
        v2.CenterCrop(crop),
        v2.Grayscale(num_output_channels=3),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean, std),
    ]


def train_transform(model_name, image_size=None):
    """The project report's training augmentation: rotation ±20°, brightness/contrast jitter 0.3, both flips."""
    resize_step, *rest = _preprocessing(model_name, image_size)
    # Resizing first is the same geometry as the project report's rotate-then-resize (rotation about the
    # centre commutes with scaling) but rotates and jitters 40% fewer pixels.
    return v2.Compose([
        resize_step,
        v2.RandomRotation(20),
        v2.ColorJitter(brightness=0.3, contrast=0.3),
        v2.RandomHorizontalFlip(),
        v2.RandomVerticalFlip(),
        *rest,
    ])


def eval_transform(model_name, image_size=None):
    """Deterministic preprocessing for validation, test and inference."""
    return v2.Compose(_preprocessing(model_name, image_size))
