"""Which number format training computes in on each device, and the torch objects that apply it.

What was measured and what was not (so the `auto` choice can be revisited with figures):
- H100, batch 50: bf16 autocast ran at 0.74-1.14x the speed of the fp32 step (issue 11), so on
  cards with TF32 (compute capability 8.0 and newer) `auto` keeps fp32 with TF32 tensor cores.
- Colab's T4 (7.5) and other Volta/Turing cards (7.x): fp16 autocast with a gradient scaler is the
  usual speed-up there, but it has NOT been measured with this kit; `--precision fp32` opts out.
- Older GPUs (below 7.0) have no tensor cores and many run fp16 slower than fp32: fp32.
- CPU and Apple's MPS: fp32 (bf16 autocast is several times slower on CPUs without bf16 units).
"""

from contextlib import nullcontext
from dataclasses import dataclass, field

import torch

from ..errors import KitError
from .recipes import PRECISIONS

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
TF32_CAPABILITY = (8, 0)  # Ampere: TF32 tensor cores and native bf16
TENSOR_CORE_CAPABILITY = (7, 0)  # Volta: fp16 tensor cores


class PrecisionError(KitError, ValueError):
    """A precision was asked for that this device cannot run."""

    title = "Precision not available"


def choose_precision(device_type, capability=None, native_bf16=False, requested="auto"):
    """'fp32', 'bf16' or 'fp16' for a device type, its CUDA compute capability and native bf16 support."""
    if requested not in PRECISIONS:
        raise PrecisionError(f"unknown precision {requested!r}; choose one of {', '.join(PRECISIONS)}")
    if requested == "fp32":
        return "fp32"
    if device_type != "cuda":
        if requested == "auto":
            return "fp32"
        raise PrecisionError(f"{requested} needs a CUDA GPU (this is {device_type}); use --precision fp32 or auto")
    if requested == "bf16" and not native_bf16:
        raise PrecisionError(f"this GPU (compute capability {capability[0]}.{capability[1]}) has no native "
                             f"bf16; use --precision fp16, fp32 or auto")
    if requested != "auto":
        return requested
    return "fp16" if TENSOR_CORE_CAPABILITY <= tuple(capability) < TF32_CAPABILITY else "fp32"


@dataclass
class Precision:
    """The chosen precision on one device: its autocast context and gradient scaler."""

    name: str
    device_type: str
    scaler: torch.amp.GradScaler = field(init=False)

    def __post_init__(self):
        # Only fp16 needs loss scaling (small gradients underflow to zero); disabled, it passes through.
        self.scaler = torch.amp.GradScaler(self.device_type, enabled=self.name == "fp16")

    def autocast(self):
        """The autocast context for forward passes (none for fp32)."""
        if self.name == "fp32":
            return nullcontext()
        return torch.autocast(self.device_type, dtype=AUTOCAST_DTYPES[self.name])

    def backward_and_step(self, loss, optimizer):
        """Backpropagate `loss` and step `optimizer`, through the gradient scaler when it is on."""
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()


def device_capability(device):
    """(compute capability, native bf16) of a CUDA device; (None, False) elsewhere."""
    if device.type != "cuda":
        return None, False
    with torch.cuda.device(device):
        return torch.cuda.get_device_capability(device), torch.cuda.is_bf16_supported(including_emulation=False)


def precision_for(device, requested="auto"):
    """The Precision to train with on `device` (`requested`: auto, fp32, bf16 or fp16)."""
    capability, native_bf16 = device_capability(device)
    return Precision(choose_precision(device.type, capability, native_bf16, requested), device.type)


def allow_tf32():
    """Let fp32 matrix products use TF32 tensor cores on Ampere and newer (cuDNN convolutions already do)."""
    torch.set_float32_matmul_precision("high")
