"""Quantization-aware training: a copy of the fp32 model taught to give its answers in 8-bit arithmetic.

Rounded to 8 bits after training, a MobileNetV3 loses its way: each layer adds a little rounding
noise and the next layers amplify it (torchvision's own quantized MobileNetV3 needed this remedy).
Here every batch norm is folded into its convolution, and every weight and every activation passes
through a fake quantizer: in the forward pass it rounds to the 8-bit grid the deployed model will
use, in the backward pass it lets the gradient through unchanged inside the grid's range and stops
it outside (the straight-through estimator). The copy then learns to give the fp32 model's
probabilities on training images (distillation: the fp32 model is the teacher, no labels needed).
The ONNX exporter writes each fake quantizer as a QuantizeLinear/DequantizeLinear pair, which
onnxruntime runs as integer kernels.
"""

import copy

import numpy as np
import onnx
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torchvision.models.mobilenetv3 import InvertedResidual
from torchvision.ops.misc import Conv2dNormActivation, SqueezeExcitation

# 7-bit weights in int8: onnxruntime's x86 kernels without VNNI add pairs of uint8 x int8 products
# in 16 bits, which overflow with full-range weights (see quantize.py)
WEIGHT_STEPS = 63
ACTIVATION_RANGE = (0, 255)  # uint8 activations, asymmetric, one range per tensor
EPOCHS = 2  # passes over the training images; on the course data more did not agree more often


# torch.export traces with shapes that stand for any batch size; PyTorch has the kernel below, but
# not the shape rule that tracing needs (output: the input's shape, and a mask of the same shape).
@torch.library.register_fake("aten::fake_quantize_per_tensor_affine_cachemask")
def _fake_quantize_shapes(x, scale, zero_point, quant_min, quant_max):
    return torch.empty_like(x), torch.empty_like(x, dtype=torch.bool)


class ActivationQuantizer(nn.Module):
    """Rounds a tensor to 256 uint8 steps over a range it tracks while training (moving min and max)."""

    def __init__(self, momentum=0.05):
        super().__init__()
        self.momentum = momentum
        self.register_buffer("low", torch.tensor(0.0))
        self.register_buffer("high", torch.tensor(0.0))
        self.register_buffer("observed", torch.tensor(False))
        self.fixed = None  # (scale, zero point) as numbers, once frozen for export

    def forward(self, x):
        if self.fixed is None and self.training:
            self.observe(x.detach())
        scale, zero_point = self.fixed or self.grid()
        return torch.fake_quantize_per_tensor_affine(x, scale, zero_point, *ACTIVATION_RANGE)

    def observe(self, x):
        """Move the range towards this batch's minimum and maximum (the first batch sets it)."""
        weight = self.momentum if self.observed else 1.0
        self.low.lerp_(x.min(), weight)
        self.high.lerp_(x.max(), weight)
        self.observed.fill_(True)

    def grid(self):
        """(scale, zero point) of the uint8 grid covering the range and zero."""
        low, high = min(float(self.low), 0.0), max(float(self.high), 0.0)
        scale = max((high - low) / ACTIVATION_RANGE[1], 1e-8)
        return scale, int(np.clip(round(-low / scale), *ACTIVATION_RANGE))

    def freeze(self):
        """Keep the current grid as constants: the exporter writes them into the graph."""
        self.fixed = self.grid()


def weight_scales(weight):
    """One symmetric scale per output channel: the channel's largest magnitude is the last step."""
    return weight.detach().abs().flatten(1).amax(dim=1).clamp(min=1e-8) / WEIGHT_STEPS


def quantized_weight(weight, scale=None):
    """`weight` rounded to int8 steps, one symmetric scale per output channel (`scale`, or its own)."""
    scale = weight_scales(weight) if scale is None else scale
    zero_point = torch.zeros(scale.shape, dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(weight, scale, zero_point, 0, -128, 127)


class WeightQuantized:
    """Mixin for a convolution or linear layer whose weight is fake-quantized per output channel."""

    def freeze(self):
        """Keep the current weight scales as constants."""
        self.weight_scale = weight_scales(self.weight)

    @classmethod
    def from_float(cls, layer):
        """The same layer, with its weight fake-quantized."""
        quantized = copy.deepcopy(layer)
        quantized.__class__ = cls
        quantized.register_buffer("weight_scale", None)  # set by freeze
        return quantized


class QuantizedConv2d(WeightQuantized, nn.Conv2d):
    """A convolution whose weight is fake-quantized."""

    def forward(self, x):
        return self._conv_forward(x, quantized_weight(self.weight, self.weight_scale), self.bias)


class QuantizedLinear(WeightQuantized, nn.Linear):
    """A linear layer whose weight is fake-quantized."""

    def forward(self, x):
        return nn.functional.linear(x, quantized_weight(self.weight, self.weight_scale), self.bias)


def conv_block(block):
    """A Conv2dNormActivation with its batch norm folded and 8-bit steps after it.

    ReLU gets no steps of its own: onnxruntime folds it into the integer convolution.
    """
    conv, *rest = list(block)
    if rest and isinstance(rest[0], nn.BatchNorm2d):
        conv = fuse_conv_bn_eval(conv.eval(), rest.pop(0).eval())
    layers = [QuantizedConv2d.from_float(conv)]
    for activation in rest:
        layers += [activation] if isinstance(activation, nn.ReLU) else [ActivationQuantizer(), activation]
    return nn.Sequential(*layers, ActivationQuantizer())


class QuantizedSqueezeExcitation(nn.Module):
    """Squeeze-excite in 8 bits: pool, squeeze, excite and the product each end on the 8-bit grid."""

    def __init__(self, block):
        super().__init__()
        self.pool = nn.Sequential(block.avgpool, ActivationQuantizer())
        self.squeeze = nn.Sequential(QuantizedConv2d.from_float(block.fc1), block.activation, ActivationQuantizer())
        self.excite = nn.Sequential(QuantizedConv2d.from_float(block.fc2), ActivationQuantizer(),
                                    block.scale_activation, ActivationQuantizer())
        self.product = ActivationQuantizer()

    def forward(self, x):
        return self.product(self.excite(self.squeeze(self.pool(x))) * x)


class QuantizedResidual(nn.Module):
    """An inverted residual block in 8 bits, its sum with the input too."""

    def __init__(self, block):
        super().__init__()
        self.block = nn.Sequential(*[quantization_ready_layer(layer) for layer in block.block])
        self.sum = ActivationQuantizer() if block.use_res_connect else None

    def forward(self, x):
        return self.block(x) if self.sum is None else self.sum(self.block(x) + x)


def quantization_ready_layer(layer):
    """The 8-bit version of one MobileNetV3 layer."""
    if isinstance(layer, Conv2dNormActivation):
        return conv_block(layer)
    if isinstance(layer, SqueezeExcitation):
        return QuantizedSqueezeExcitation(layer)
    if isinstance(layer, InvertedResidual):
        return QuantizedResidual(layer)
    if isinstance(layer, nn.Linear):
        return nn.Sequential(QuantizedLinear.from_float(layer), ActivationQuantizer())
    if isinstance(layer, nn.Hardswish):
        return nn.Sequential(layer, ActivationQuantizer())
    if isinstance(layer, nn.Dropout):
        return nn.Identity()  # distillation copies the teacher; dropout would only add noise
    raise TypeError(f"no 8-bit version of {type(layer).__name__}")


def quantization_ready(model):
    """A copy of a torchvision MobileNetV3 with batch norm folded and fake quantizers on every weight and activation."""
    model = copy.deepcopy(model).eval()
    layers = [quantization_ready_layer(layer) for layer in model.features]
    model.features = nn.Sequential(ActivationQuantizer(), *layers)  # the first steps: the normalised image
    model.avgpool = nn.Sequential(model.avgpool, ActivationQuantizer())
    model.classifier = nn.Sequential(*[quantization_ready_layer(layer) for layer in model.classifier])
    return model


def freeze(model):
    """Fix every quantizer's grid, so the exported graph carries constant scales."""
    for module in model.modules():
        if isinstance(module, (ActivationQuantizer, WeightQuantized)):
            module.freeze()
    return model.eval().requires_grad_(False)


def first(output):
    """The probabilities of a model's output (a gated model also returns its ood scores)."""
    return output[0] if isinstance(output, tuple) else output


def flipped(images, generator):
    """Each image flipped left-right and up-down at random (a lesion has no up or left)."""
    for dim in (2, 3):
        flip = torch.rand(len(images), generator=generator) < 0.5
        images = torch.where(flip.view(-1, 1, 1, 1), images.flip(dim), images)
    return images


def distil(student, teacher, images, epochs=EPOCHS, batch_size=50, lr=1e-4, seed=0, announce=None):
    """Train `student` to give `teacher`'s probabilities on uint8 `images` (flipped at random), in place."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.as_tensor(images)
    student.requires_grad_(True)  # every layer learns, whatever was frozen when the stage was trained
    optimizer = torch.optim.Adam(student.parameters(), lr=lr)
    teacher.eval()
    student.train()
    for epoch in range(epochs):
        losses = []
        for batch in torch.randperm(len(images), generator=generator).split(batch_size):
            inputs = flipped(images[batch], generator)
            with torch.no_grad():
                target = first(teacher(inputs))
            output = first(student(inputs)).clamp_min(1e-8)
            loss = (target * (target.clamp_min(1e-8).log() - output.log())).sum(dim=1).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        if announce:
            announce(f"epoch {epoch + 1}/{epochs}: distillation loss {np.mean(losses):.4f}")
    return freeze(student)


def student_of(deployable):
    """A copy of `deployable` (a `contract.DeployableModel`) whose network is `quantization_ready`; untrained."""
    student = copy.deepcopy(deployable)
    student.model = quantization_ready(deployable.model)
    return student


def trained_for_int8(deployable, images, epochs=EPOCHS, seed=0, announce=None):
    """A copy of `deployable` with fake quantizers, distilled from it on uint8 `images`, frozen for export."""
    return distil(student_of(deployable), deployable, images, epochs=epochs, seed=seed, announce=announce)


def weights_stored_as_int8(model):
    """Replace each QuantizeLinear of a constant weight by the int8 tensor it gives, in place.

    The exporter writes a fake-quantized weight as float weight -> QuantizeLinear -> DequantizeLinear;
    storing the quantized values instead makes the file about four times smaller, as int8 should.
    The nodes' debugging notes go too: with a QuantizeLinear/DequantizeLinear pair after every
    layer they would weigh as much as the weights.
    """
    constants = {tensor.name: tensor for tensor in model.graph.initializer}
    for node in [n for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] in constants]:
        weight, scale, zero_point = (onnx.numpy_helper.to_array(constants[name]) for name in node.input)
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        shape = [-1 if dim == axis % weight.ndim else 1 for dim in range(weight.ndim)] if scale.ndim else []
        # times the reciprocal, in float32, as PyTorch's fake quantizer rounded it in training
        steps = np.rint(weight * (np.float32(1) / scale.reshape(shape))) + zero_point.reshape(shape)
        info = np.iinfo(zero_point.dtype)
        stored = onnx.numpy_helper.from_array(np.clip(steps, info.min, info.max).astype(zero_point.dtype),
                                              node.output[0])
        model.graph.initializer.append(stored)
        model.graph.node.remove(node)
    for node in model.graph.node:  # the exporter's notes on where each node came from (stack traces)
        del node.metadata_props[:]
    used = {name for node in model.graph.node for name in node.input}
    for tensor in [t for t in model.graph.initializer if t.name not in used]:  # the float weights
        model.graph.initializer.remove(tensor)
    onnx.checker.check_model(model)
    return model
