"""Penultimate features: the pooled output of the convolutional base, which the classifier head reads.

Pooled features (960 for Large, 576 for Small) rather than the head's hidden layer (1280, 1024):
fewer dimensions for the shared covariance to estimate from a few thousand training images, and
they still describe the image itself before the head squeezes it towards seven classes.
"""

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..data.augment import BatchAugment
from ..data.dataset import SkinLesionDataset

BATCH_SIZE = 50


def pooled_features(model, images):
    """The head's input for a normalised float batch: pooled features (N, D)."""
    return model.avgpool(model.features(images)).flatten(1)


def features_of(model, batches, image_size, device):
    """(features (N, D), labels, probabilities (N, 7)) of uint8 (N, 1, H, W) batches, prepared as validation."""
    prepare = BatchAugment(model.architecture, image_size, train=False).to(device)
    model = model.to(device).eval()
    parts = []
    with torch.inference_mode():
        for images, labels in batches:
            features = pooled_features(model, prepare(torch.as_tensor(images).to(device)))
            parts.append((features.float().cpu(), torch.as_tensor(labels),
                          model.classifier(features).float().softmax(dim=1).cpu()))
    return tuple(torch.cat(part).numpy() for part in zip(*parts))


def split_features(model, data_root, split, image_size, device):
    """features_of every image of one split of a course-format dataset, in file order."""
    loader = DataLoader(SkinLesionDataset(Path(data_root) / split), batch_size=BATCH_SIZE)
    return features_of(model, loader, image_size, device)


def photo_features(model, photos, image_size, device):
    """features_of uint8 gray photos of one size (N, 1, H, W) (labels -1)."""
    photos = np.asarray(photos)
    batches = [(photos[i:i + BATCH_SIZE], np.full(len(photos[i:i + BATCH_SIZE]), -1))
               for i in range(0, len(photos), BATCH_SIZE)]
    return features_of(model, batches, image_size, device)
