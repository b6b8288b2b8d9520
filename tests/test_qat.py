"""Quantization-aware training: the fake quantizers round as onnxruntime does, the exported file runs
integer kernels and computes what the fake-quantized model computes, the gradient reaches every
weight, and the one-gray-level check measures what it says. (That distillation brings the int8
file closer to fp32 is measured where it can be: on a course-trained model, docs/deployment.md.)"""


import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnxruntime.quantization.quant_utils import compute_scale_zp

from skinkit.deployment import checks, export, qat
from skinkit.deployment.contract import DeployableModel
from skinkit.training.models import build_model

from .helpers import SAMPLE
from .test_deployment import responsive

SIZE = 64


@pytest.mark.parametrize("low, high", [(-1.3, 4.1), (0.5, 4.1), (-3.0, -1.0), (0.0, 6.0)])
def test_an_activation_grid_is_the_one_onnxruntime_computes_for_the_same_range(low, high):
    quantizer = qat.ActivationQuantizer()
    quantizer.observe(torch.tensor([low, high]))
    zero_point, scale = compute_scale_zp(np.float32(low), np.float32(high), np.uint8(0), np.uint8(255))
    assert quantizer.grid()[0] == pytest.approx(float(scale), rel=1e-6)
    assert quantizer.grid()[1] == int(zero_point)


def test_an_observed_range_moves_a_little_towards_each_new_batch():
    quantizer = qat.ActivationQuantizer(momentum=0.5)
    quantizer.observe(torch.tensor([-1.0, 1.0]))
    quantizer.observe(torch.tensor([-3.0, 2.0]))
    assert (float(quantizer.low), float(quantizer.high)) == (-2.0, 1.5)


@pytest.fixture(scope="module")
def models():
    """(teacher: a responsive random Small at 64 px, every sample training image as a model input)."""
    torch.manual_seed(0)
    teacher = DeployableModel(responsive(build_model("small", pretrained=False)), SIZE).eval()
    return teacher, torch.as_tensor(export.validation_inputs(SAMPLE / "train", "small", SIZE)[0])


@pytest.fixture(scope="module")
def trained(models, tmp_path_factory):
    """(the int8 file export's last remedy writes on the sample, the trained copy it came from); about 30 s."""
    path = tmp_path_factory.mktemp("qat") / "int8.onnx"
    props = {"image_size": str(SIZE), "architecture": "small", "stage": "test"}
    return path, export.int8_by_training(models[0], SAMPLE / "train", props, path)


def test_the_last_remedy_is_offered_only_with_enough_training_images(models, monkeypatch):
    props = {"image_size": str(SIZE), "architecture": "small"}
    assert export.qat_remedy(models[0], SAMPLE / "train", props) is None  # the sample is too small
    monkeypatch.setattr(export, "QAT_MIN_IMAGES", 1)
    assert export.qat_remedy(models[0], SAMPLE / "train", props)[0] == export.QAT_NAME


def run(path, images, level=onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL, optimized=None):
    """Probabilities of an ONNX file in onnxruntime at an optimisation level (and the optimised graph saved)."""
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level, options.log_severity_level = level, 3
    if optimized:
        options.optimized_model_filepath = str(optimized)
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: images.numpy()})[0]


def test_every_convolution_of_the_trained_file_runs_as_an_integer_kernel(models, trained, tmp_path):
    (int8_file, student), images = trained, models[1]
    run(int8_file, images[:2], optimized=tmp_path / "optimized.onnx")
    kinds = [node.op_type for node in onnx.load(str(tmp_path / "optimized.onnx")).graph.node]
    convolutions = sum(isinstance(m, torch.nn.Conv2d) for m in student.modules())
    assert kinds.count("QLinearConv") == convolutions and "Conv" not in kinds
    assert kinds.count("QGemm") == 2 and "Gemm" not in kinds  # the classifier's two layers


def int8_weights(model):
    """The int8 weight tensors of an ONNX model, in the order of the nodes that read them."""
    constants = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    return [constants[node.input[0]] for node in model.graph.node
            if node.op_type == "DequantizeLinear" and node.input[0] in constants
            and constants[node.input[0]].ndim in (2, 4)]


def test_the_trained_file_stores_the_int8_weights_the_model_was_trained_with(models, trained):
    (int8_file, student), teacher = trained, models[0]
    stored = int8_weights(onnx.load(str(int8_file)))
    layers = [m for m in student.modules() if isinstance(m, qat.WeightQuantized)]
    expected = [(qat.quantized_weight(m.weight, m.weight_scale) / m.weight_scale.view(-1, *[1] * (m.weight.dim() - 1)))
                .round().to(torch.int8).numpy() for m in layers]
    assert len(stored) == len(expected) == len(layers) and all(s.dtype == np.int8 for s in stored)
    assert all(np.array_equal(s, t) for s, t in zip(stored, expected))
    assert max(np.abs(s).max() for s in stored) == qat.WEIGHT_STEPS  # 7-bit steps, in int8
    fp32_bytes = 4 * sum(p.numel() for p in teacher.parameters())
    assert int8_file.stat().st_size < 0.3 * fp32_bytes


def test_onnxruntime_computes_what_the_fake_quantized_model_computes(models, trained):
    (int8_file, student), images = trained, models[1]
    with torch.no_grad():
        expected = student(images).numpy()
    levels = onnxruntime.GraphOptimizationLevel
    for level in (levels.ORT_DISABLE_ALL, levels.ORT_ENABLE_ALL):
        got = run(int8_file, images, level)  # without optimisation: QuantizeLinear/DequantizeLinear in float
        assert np.abs(got - expected).mean() < 0.005  # now and then a step rounded the other way


def test_the_gradient_passes_every_fake_quantizer_to_every_weight(models):
    teacher, images = models
    student = qat.student_of(teacher)
    student.requires_grad_(True)
    student.train()(images).max(dim=1).values.sum().backward()  # the straight-through estimator
    layers = [m for m in student.modules() if isinstance(m, qat.WeightQuantized)]
    assert layers and all(m.weight.grad is not None and m.weight.grad.abs().sum() > 0 for m in layers)


def test_distillation_trains_the_copy_and_freezes_its_grids(models):
    teacher, images = models
    student = qat.student_of(teacher)
    before = [p.detach().clone() for p in student.parameters()]
    told = []
    qat.distil(student, teacher, images.numpy(), epochs=1, batch_size=len(images), announce=told.append)
    assert told[0].startswith("epoch 1/1: distillation loss ")
    changed = [not torch.equal(a, b) for a, b in zip(before, student.parameters())]
    assert np.mean(changed) > 0.9  # every layer learns, the ones frozen in training too
    quantizers = [m for m in student.modules() if isinstance(m, qat.ActivationQuantizer)]
    assert not student.training and all(m.fixed == m.grid() for m in quantizers)


class ParityOfFirstPixel:
    """A classifier that answers class 0 or 1 by whether an image's first pixel is even: unsteady by design."""

    def __call__(self, images):
        odd = np.asarray(images)[:, 0, 0, 0] % 2
        return np.eye(7, dtype=np.float32)[odd]


def test_one_gray_level_moves_a_parity_classifier_often_and_a_steady_one_never():
    images = np.random.default_rng(1).integers(1, 255, (300, 1, 8, 8), dtype=np.uint8)
    parity = ParityOfFirstPixel()
    share = checks.one_level_steadiness(parity, images, parity(images))
    assert 0.2 < share < 0.45  # a pixel keeps its parity when it does not move: one time in three
    steady = lambda batch: np.full((len(batch), 7), 1 / 7, np.float32)  # noqa: E731
    assert checks.one_level_steadiness(steady, images, steady(images)) == 1.0
