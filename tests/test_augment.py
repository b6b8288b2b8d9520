"""BatchAugment: the project report's augmentation on whole batches, checked against transforms v2."""

import math

import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as F

from skinkit.data.augment import BatchAugment
from skinkit.data.dataset import SkinLesionDataset
from skinkit.data.transforms import eval_transform, train_transform, weights_preprocessing
from skinkit.reporting.data_overview import rotation_corners

from .helpers import SAMPLE


@pytest.fixture(scope="module")
def images():
    dataset = SkinLesionDataset(SAMPLE / "val")
    return torch.stack([dataset.image(i) for i in range(0, 35, 5)])  # one image per class


def fixed_params(n, angle=0.0, flip_x=1.0, flip_y=1.0, brightness=1.0, contrast=1.0):
    """Replacement for BatchAugment.sample_params with the same values for every sample."""
    def sample(_n, generator=None):
        return tuple(torch.full((n,), float(v)) for v in (angle, flip_x, flip_y, brightness, contrast))
    return sample


def test_output_is_a_normalised_three_channel_channels_last_batch(images):
    out = BatchAugment("large", train=True)(images)
    assert out.shape == (7, 3, 224, 224) and out.dtype == torch.float32
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.isfinite(out).all()


def test_eval_mode_matches_the_weights_preprocessing_of_transforms_v2(images):
    batch = BatchAugment("small", train=False)(images)
    reference = torch.stack([eval_transform("small")(image) for image in images])
    # One bilinear warp vs antialiased resize + crop: the same picture up to interpolation.
    assert (batch - reference).abs().mean() < 0.05


def test_eval_mode_is_deterministic_and_gray_in_every_channel(images):
    augment = BatchAugment("large", train=False)
    first, second = augment(images), augment(images)
    assert torch.equal(first, second)
    _, _, mean, std = weights_preprocessing("large")
    gray = [first[:, c] * std[c] + mean[c] for c in range(3)]
    assert torch.allclose(gray[0], gray[1], atol=1e-5) and torch.allclose(gray[1], gray[2], atol=1e-5)


def test_training_draws_a_fresh_augmentation_per_sample_and_call(images):
    augment = BatchAugment("large", train=True)
    same_image = images[:1].repeat(4, 1, 1, 1)
    out = augment(same_image)
    assert not torch.equal(out[0], out[1])
    assert not torch.equal(augment(same_image), augment(same_image))


@pytest.mark.parametrize("flip_x, flip_y, dims", [(-1, 1, [-1]), (1, -1, [-2]), (-1, -1, [-2, -1])])
def test_flips_mirror_the_image(images, monkeypatch, flip_x, flip_y, dims):
    augment = BatchAugment("small", train=True)
    monkeypatch.setattr(augment, "sample_params", fixed_params(len(images), flip_x=flip_x, flip_y=flip_y))
    plain = BatchAugment("small", train=False)(images)
    assert torch.allclose(augment(images), plain.flip(dims), atol=1e-4)


def test_rotation_matches_transforms_v2_rotate(images, monkeypatch):
    augment = BatchAugment("small", image_size=224, train=True)
    monkeypatch.setattr(augment, "sample_params", fixed_params(len(images), angle=torch.pi / 12))
    reference = torch.stack([eval_transform("small")(F.rotate(image, 15.0, F.InterpolationMode.BILINEAR))
                             for image in images])
    assert (augment(images) - reference).abs().mean() < 0.08


def test_brightness_and_contrast_match_transforms_v2(images, monkeypatch):
    augment = BatchAugment("small", train=True)
    monkeypatch.setattr(augment, "sample_params", fixed_params(len(images), brightness=1.25, contrast=0.8))
    plain = BatchAugment("small", train=False)
    reference = torch.stack([F.adjust_contrast(F.adjust_brightness(image, 1.25), 0.8) for image in images])
    assert (augment(images) - plain(reference)).abs().mean() < 0.05


def test_per_image_train_transform_gives_model_ready_tensors(images):
    out = train_transform("large")(images[0])
    assert out.shape == (3, 224, 224) and out.dtype == torch.float32


def test_smaller_image_size_scales_resize_and_crop_together():
    assert weights_preprocessing("small", 64)[:2] == (round(256 * 64 / 224), 64)
    assert BatchAugment("small", image_size=64)(torch.zeros(2, 1, 300, 300, dtype=torch.uint8)).shape[-1] == 64


def test_wrong_input_is_explained():
    with pytest.raises(ValueError, match="uint8"):
        BatchAugment("small")(torch.zeros(2, 3, 64, 64))


@pytest.mark.parametrize("model_name", ["large", "small"])
def test_black_corners_of_the_rotation_match_the_geometry_of_a_turned_crop(model_name):
    resize, crop = weights_preprocessing(model_name)[:2]
    zoom = crop / resize  # the crop's half-side, the image's being 1
    angles = np.radians(np.linspace(-20, 20, 81))
    centres = ((np.arange(crop) + 0.5) / crop * 2 - 1) * zoom
    x, y = np.meshgrid(centres, centres)
    outside = [np.mean(np.maximum(abs(np.cos(a) * x - np.sin(a) * y), abs(np.sin(a) * x + np.cos(a) * y)) > 1)
               for a in angles]
    # By hand: the centre of the crop's corner pixel, c * (1, 1) with c = zoom * (1 - 1 / crop),
    # leaves the image once c * (cos a + sin a) = c * sqrt(2) * sin(a + 45°) > 1.
    corner = zoom * (1 - 1 / crop)
    first_angle = math.degrees(math.asin(1 / (corner * math.sqrt(2)))) - 45
    with_corners, mean_share, largest_share = rotation_corners((300, 300), model_name)
    assert with_corners == pytest.approx(np.mean(np.abs(np.degrees(angles)) > first_angle), abs=1 / 81)
    assert mean_share == pytest.approx(np.mean(outside), abs=0.003)
    assert largest_share == pytest.approx(max(outside), abs=0.005) and largest_share > 0
