"""MobileNetV3-Large/-Small with the project report's classifier heads and honest ImageNet loading."""

import contextlib
import io
import os
import sys
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torchvision import models

from ..classes import NUM_CLASSES
from ..data.transforms import IMAGENET_WEIGHTS, pretrained_weights
from ..errors import KitError, PretrainedWeightsWarning, plain_kit_warnings


class PretrainedWeightsUnavailable(KitError, RuntimeError):
    """ImageNet weights were required but could not be loaded."""

    title = "ImageNet weights unavailable"


@dataclass(frozen=True)
class Architecture:
    """A torchvision MobileNetV3 variant, its ImageNet weights and the project report's head sizes."""

    builder: callable
    weights: models.WeightsEnum
    features: int
    hidden: int
    dropout: float


ARCHITECTURES = {
    "large": Architecture(models.mobilenet_v3_large, IMAGENET_WEIGHTS["large"], 960, 1280, 0.3),
    "small": Architecture(models.mobilenet_v3_small, IMAGENET_WEIGHTS["small"], 576, 1024, 0.2),
}


def architecture(name):
    """The Architecture called `name` ("large" or "small")."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown model {name!r}: choose one of {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def weights_file(name):
    """Where torchvision looks for (and caches) the ImageNet weight file of model `name`."""
    url = pretrained_weights(name).url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def weights_advice(name):
    """How to put the ImageNet weight file of model `name` in place by hand, as short lines."""
    return ["To use the ImageNet weights, download", f"    {pretrained_weights(name).url}", "and save it as",
            f"    {weights_file(name)}", "(set TORCH_HOME to use another folder)."]


WARNING_WIDTH = 76  # characters per line of the offline warning: fits a narrow notebook panel


def offline_warning(name, error):
    """The loud, short-lined message shown when model `name` starts from random numbers."""
    bar = "!" * WARNING_WIDTH
    reason = textwrap.wrap(str(error), WARNING_WIDTH, initial_indent="    ", subsequent_indent="    ",
                           break_long_words=False, break_on_hyphens=False)
    return "\n".join([
        bar, f"WARNING: the ImageNet weights of MobileNetV3-{name.title()} could not be loaded:", *reason,
        "CONTINUING FROM RANDOM INITIALISATION: this is NOT transfer learning;",
        'the run folder records it as "pretrained": false.', *weights_advice(name), bar])


def fetch_state_dict(weights):
    """The weights' state dict; torch.hub's "Downloading: ..." line is shown only if it worked."""
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
        state = weights.get_state_dict(progress=False, check_hash=True)
    sys.stdout.write(out.getvalue())
    sys.stderr.write(err.getvalue())
    return state


def load_imagenet_state(name, required):
    """The ImageNet state dict from the torch cache or a download; None (with a loud warning) if offline."""
    try:
        return fetch_state_dict(pretrained_weights(name))
    except (OSError, RuntimeError, ValueError) as error:
        if required:
            raise PretrainedWeightsUnavailable(
                f"ImageNet weights for MobileNetV3-{name.title()} are not available ({error}). "
                + " ".join(line.strip() for line in weights_advice(name))
                + " Or pass pretrained='auto' (falls back to random init) or "
                  "pretrained=False to train from scratch on purpose.") from error
        with plain_kit_warnings():
            warnings.warn(offline_warning(name, error), PretrainedWeightsWarning, stacklevel=3)
        return None


def imagenet_state(name, pretrained="auto"):
    """The ImageNet state dict of MobileNetV3 `name`, or None: offline under "auto" (with a loud warning), or False.

    pretrained: "auto" uses the weights when cached or downloadable; True requires them; False skips them.
    """
    if pretrained not in ("auto", True, False):
        raise ValueError(f"pretrained must be 'auto', True or False, not {pretrained!r}")
    architecture(name)
    return None if pretrained is False else load_imagenet_state(name, required=pretrained is True)


def classifier_head(arch, num_classes=NUM_CLASSES):
    """The project report's head: Linear -> Hardswish -> Dropout -> Linear to the 7 classes."""
    return nn.Sequential(
        nn.Linear(arch.features, arch.hidden),
        nn.Hardswish(),
        nn.Dropout(arch.dropout),
        nn.Linear(arch.hidden, num_classes),
    )


def build_model(name, pretrained="auto", freeze_base=True, num_classes=NUM_CLASSES):
    """MobileNetV3 `name` with the project report's head; `model.pretrained` tells if ImageNet weights loaded.

    pretrained: "auto" uses the weights when cached or downloadable and warns loudly otherwise;
    True requires them; False trains from scratch.
    """
    state = imagenet_state(name, pretrained)
    arch = architecture(name)
    model = arch.builder()
    if state is not None:
        model.load_state_dict(state)
    model.classifier = classifier_head(arch, num_classes)
    model.pretrained = state is not None
    model.architecture = name
    set_base_trainable(model, not freeze_base)
    return model


def set_base_trainable(model, trainable):
    """Freeze (False) or unfreeze (True) the convolutional base; the head always trains."""
    for param in model.features.parameters():
        param.requires_grad = trainable
    return model


def unfreeze(model):
    """Make every layer trainable, for fine-tuning."""
    return set_base_trainable(model, True)


def count_parameters(model, trainable_only=False):
    """Number of parameters, optionally only those that will be trained."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
