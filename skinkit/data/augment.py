"""The project report's augmentation applied to whole uint8 batches on the training device.

Per-image transforms (see `transforms.py`) cost ~2 ms an image on one CPU core, as much as a
MobileNetV3 training step; here one affine warp per batch does rotation, flips, resize and
centre crop at once, and brightness/contrast are per-sample multiply-adds.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .transforms import weights_preprocessing


def random_uniform(n, low, high, generator=None):
    """`n` samples of U(low, high) as a float tensor (CPU, so every device draws the same numbers)."""
    return torch.rand(n, generator=generator) * (high - low) + low


class BatchAugment(nn.Module):
    """uint8 (N,1,H,W) images -> normalised float (N,3,S,S) batches, augmented when `train`.

    Train: rotation ±`degrees`, brightness and contrast factors in [1-j, 1+j], horizontal and
    vertical flips with p=0.5, each drawn per sample; always: resize and centre crop as the
    pretrained weights expect, gray -> 3 channels, ImageNet normalisation.
    """

    def __init__(self, model_name, image_size=None, train=True, degrees=20.0, brightness=0.3,
                 contrast=0.3):
        super().__init__()
        resize, crop, mean, std = weights_preprocessing(model_name, image_size)
        self.crop, self.zoom = crop, crop / resize
        self.train_mode, self.degrees = train, degrees
        self.brightness, self.contrast = brightness, contrast
        self._grid = None
        self.register_buffer("scale", 1.0 / (255.0 * torch.tensor(std).view(1, 3, 1, 1)), persistent=False)
        self.register_buffer("shift", -torch.tensor(mean).view(1, 3, 1, 1) / torch.tensor(std).view(1, 3, 1, 1),
                             persistent=False)

    def sample_params(self, n, generator=None):
        """Per-sample (angle in radians, x flip, y flip, brightness, contrast); identity when not training."""
        if not self.train_mode:
            return torch.zeros(n), torch.ones(n), torch.ones(n), torch.ones(n), torch.ones(n)
        angle = random_uniform(n, -self.degrees, self.degrees, generator) * (math.pi / 180)
        flip_x, flip_y = (1 - 2 * (torch.rand(2, n, generator=generator) < 0.5).float())
        brightness = random_uniform(n, 1 - self.brightness, 1 + self.brightness, generator)
        contrast = random_uniform(n, 1 - self.contrast, 1 + self.contrast, generator)
        return angle, flip_x, flip_y, brightness, contrast

    def base_grid(self, device):
        """Normalised (x, y) of every output pixel, (1, S*S, 2); cached (affine_grid redoes it per call)."""
        if self._grid is None or self._grid.device != device:
            identity = torch.eye(2, 3).unsqueeze(0)
            grid = F.affine_grid(identity, (1, 1, self.crop, self.crop), align_corners=False)
            self._grid = grid.view(1, -1, 2).to(device)
        return self._grid

    def warp(self, images, angle, flip_x, flip_y):
        """Rotate about the centre, flip, then resize-and-crop: one bilinear resampling."""
        cos, sin = torch.cos(angle) * self.zoom, torch.sin(angle) * self.zoom
        # Output pixel -> source pixel in normalised coordinates: flips first (they act on the
        # already rotated image), then the inverse rotation, scaled by crop/resize.
        matrix = torch.stack([torch.stack([cos * flip_x, -sin * flip_y], 1),
                              torch.stack([sin * flip_x, cos * flip_y], 1)], 1)
        grid = self.base_grid(images.device) @ matrix.to(images.device).transpose(1, 2)
        grid = grid.view(len(images), self.crop, self.crop, 2)
        return F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="zeros",
                             align_corners=False)

    def jitter(self, images, brightness, contrast):
        """ColorJitter's brightness then contrast on 0-255 gray images, factors per sample."""
        brightness = brightness.to(images.device).view(-1, 1, 1, 1)
        contrast = contrast.to(images.device).view(-1, 1, 1, 1)
        images = images.mul_(brightness).clamp_(0, 255)
        mean = images.mean(dim=(1, 2, 3), keepdim=True)
        return images.mul_(contrast).add_((1 - contrast) * mean).clamp_(0, 255)

    def forward(self, images, generator=None):
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 1:
            raise ValueError(f"BatchAugment expects uint8 (N, 1, H, W) batches, got {images.dtype} "
                             f"{tuple(images.shape)}")
        angle, flip_x, flip_y, brightness, contrast = self.sample_params(len(images), generator)
        gray = self.warp(images, angle, flip_x, flip_y)
        if self.train_mode:
            gray = self.jitter(gray, brightness, contrast)
        return self.normalise_to_rgb(gray)

    def normalise_to_rgb(self, gray):
        """0-255 gray (N,1,S,S) -> ImageNet-normalised 3-channel batch in channels_last."""
        out = torch.empty((len(gray), 3, self.crop, self.crop), device=gray.device,
                          memory_format=torch.channels_last)
        # One strided pass per channel: ~25% faster on CPUs than one broadcast over the size-3
        # innermost dimension of channels_last.
        for channel in range(3):
            torch.addcmul(self.shift[0, channel, 0, 0], gray[:, 0], self.scale[0, channel, 0, 0],
                          out=out[:, channel])
        return out
