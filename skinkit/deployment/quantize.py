"""int8 by onnxruntime's static quantization, with the known MobileNetV3 remedies tried in turn.

The recipe of onnxruntime's quantization guide: pre-processing (shape inference, Conv+BN
fusion), QDQ format, per-channel weights, calibration on real training images. MobileNetV3's
hard-swish and squeeze-excite blocks are where int8 is known to lose accuracy, so agreement with
fp32 is measured, not assumed: the candidates below are tried in order on training images the
calibration never saw, and the first that keeps fp32's class often enough is kept.
"""

import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from ..errors import KitError
from ..files import atomic_path
from .gate_nodes import gate_nodes
from .quiet import quietly
from .runtime import OnnxClassifier, probabilities

TARGET_AGREEMENT = 0.97  # share of images where int8 must keep fp32's predicted class
CALIBRATION_BATCH = 25


class QuantizationError(KitError, RuntimeError):
    """No int8 model could be made from an exported model."""

    title = "Quantization failed"


@dataclass(frozen=True)
class Candidate:
    """One way to quantize: weight granularity, calibration, which parts stay in float (activations: 8 bits)."""

    name: str
    per_channel: bool = True
    calibration: str = "MinMax"  # a CalibrationMethod name
    percentile: float = None     # for Percentile calibration: the share of values the range covers
    reduce_range: bool = False   # 7-bit weights: no 16-bit overflow in x86 integer kernels without VNNI
    float_squeeze_excite: bool = False
    float_classifier: bool = False


# In the order they are tried: the guide's recipe first, then the remedies known for MobileNetV3;
# per-tensor weights, the naive variant, last, measured only when every candidate is asked for.
# Every activation is 8-bit: what phone int8 kernels run. (16-bit activations kept fp32's class
# more often on a from-scratch Small, 99 % against 87 %, but ran 6-7x slower than fp32.)
CANDIDATES = (
    Candidate("per-channel, MinMax (the guide's recipe)"),
    Candidate("per-channel, 7-bit weights (reduce_range)", reduce_range=True),
    Candidate("per-channel, 7-bit weights, squeeze-excite and classifier in float", reduce_range=True,
              float_squeeze_excite=True, float_classifier=True),
    Candidate("per-channel, 7-bit weights, percentile (99.999) calibration", reduce_range=True,
              calibration="Percentile", percentile=99.999),
    Candidate("per-channel, 7-bit weights, entropy calibration", reduce_range=True, calibration="Entropy"),
    Candidate("per-tensor, MinMax", per_channel=False),
)
# Why 7-bit weights: on x86 without VNNI (AVX2, the development VM) onnxruntime's U8S8 kernels add
# pairs of products in 16 bits, which overflow with full-range per-channel weights. On a course-
# trained Small (96 px, random init) per-channel weights kept fp32's class for 77.5 % of held-out
# images, 92.0 % with reduce_range; per-tensor weights, which rarely use the full range, 92.0 %.
# Unsigned activations, signed weights (U8S8): onnxruntime's integer convolutions on x86 take
# them; with signed activations it left 24 of Small's 52 convolutions in float, with a
# conversion either side, and ran 3.7x slower (one run, random Small at 224 px, one thread).
ACTIVATION_TYPE, WEIGHT_TYPE = QuantType.QUInt8, QuantType.QInt8


class ImageReader(CalibrationDataReader):
    """Feeds uint8 images to the calibrator in batches."""

    def __init__(self, input_name, images):
        self.batches = iter([{input_name: images[i:i + CALIBRATION_BATCH]}
                             for i in range(0, len(images), CALIBRATION_BATCH)])

    def get_next(self):
        return next(self.batches, None)


def squeeze_excite_multiplications(model):
    """Names of the excitation Mul nodes: a tensor times a hard-sigmoid gate computed from something else.

    (onnxruntime's pre-processing writes hard-swish as x * HardSigmoid(x): the gate of the same x.)
    """
    producer = {output: node for node in model.graph.node for output in node.output}
    return [node.name for node in model.graph.node if node.op_type == "Mul" and any(
        producer.get(tensor) is not None and producer[tensor].op_type == "HardSigmoid"
        and producer[tensor].input[0] not in node.input for tensor in node.input)]


def float_nodes(model, candidate, keep_float=()):
    """Names of the nodes kept in float: the softmax, the gate, `keep_float`, and what `candidate` asks for."""
    producer = {output: node for node in model.graph.node for output in node.output}
    softmax = [node for node in model.graph.node if node.op_type == "Softmax"]
    keep = [node.name for node in softmax] + gate_nodes(model) + list(keep_float)
    if candidate.float_squeeze_excite:
        keep += squeeze_excite_multiplications(model)
    if candidate.float_classifier:  # the last layer, whose outputs the softmax reads
        keep += [producer[node.input[0]].name for node in softmax]
    return keep


def pooling_as_global_average(model):
    """Rewrite each mean over height and width (squeeze-excite's pooling) as GlobalAveragePool, in place.

    The same numbers, but onnxruntime has an integer kernel for GlobalAveragePool, not for ReduceMean.
    """
    constants = {tensor.name: onnx.numpy_helper.to_array(tensor) for tensor in model.graph.initializer}
    for node in model.graph.node:
        keepdims = all(a.i == 1 for a in node.attribute if a.name == "keepdims")
        axes = constants.get(node.input[1]) if node.op_type == "ReduceMean" and len(node.input) > 1 else None
        if axes is not None and keepdims and sorted(int(a) % 4 for a in axes) == [2, 3]:
            node.op_type = "GlobalAveragePool"
            del node.input[1:]
            del node.attribute[:]
    return model


def preprocess(fp32_path, out_path):
    """onnxruntime's quantization pre-processing (shape inference, Conv+BN fusion), pooling made integer-ready."""
    with quietly():
        quant_pre_process(str(fp32_path), str(out_path), skip_symbolic_shape=False)
    onnx.save(pooling_as_global_average(onnx.load(str(out_path))), str(out_path))


def quantize(prepared_path, out_path, calibration_images, candidate, metadata, keep_float=()):
    """Write the QDQ int8 model of `candidate`, calibrated on `calibration_images`, with `metadata`."""
    model = onnx.load(str(prepared_path))
    with quietly():
        quantize_static(str(prepared_path), str(out_path),
                        ImageReader(model.graph.input[0].name, calibration_images),
                        quant_format=QuantFormat.QDQ, per_channel=candidate.per_channel,
                        calibrate_method=CalibrationMethod[candidate.calibration],
                        activation_type=ACTIVATION_TYPE, weight_type=WEIGHT_TYPE, reduce_range=candidate.reduce_range,
                        nodes_to_exclude=float_nodes(model, candidate, keep_float),
                        extra_options={"CalibPercentile": candidate.percentile} if candidate.percentile else None)
    # the pre-processing and quantize_static drop the metadata; the contract goes with every copy
    quantized = onnx.load(str(out_path))
    onnx.helper.set_model_props(quantized, metadata)
    onnx.save(quantized, str(out_path))


def agreement(first, second, images):
    """Share of images two classifiers give the same top class."""
    return float(np.mean(probabilities(first, images).argmax(1) == probabilities(second, images).argmax(1)))


def try_candidate(candidate, path, fp32, calibration_images, selection_images, keep_float=()):
    """Quantize with `candidate` and measure its agreement with fp32; a calibration that breaks is recorded."""
    record = {**asdict(candidate), "path": path}
    try:
        prepared = path.with_name("prepared.onnx")
        quantize(prepared, path, calibration_images, candidate, fp32.metadata, keep_float)
    except ValueError as error:  # e.g. the histogram calibrators on a nearly constant tensor
        return {**record, "failed": " ".join(str(error).split()), "agreement": None}
    return {**record, "bytes": path.stat().st_size,
            "agreement": agreement(fp32, OnnxClassifier(path), selection_images)}


def why_kept(records, kept, target, images):
    """Why the kept candidate was kept, as a clause, with every agreement measured."""
    tried = "; ".join(f"{r['name']}: " + ("failed" if "failed" in r else f"{r['agreement']:.1%}") for r in records)
    goal = f"fp32's class for at least {target:.0%} of {images} held-out training images"
    if kept["agreement"] >= target and kept is records[0]:
        return f"it was tried first and already kept {goal} ({tried})"
    if kept["agreement"] >= target:
        return f"it was the first to keep {goal} ({tried})"
    return f"no candidate kept {goal} and it came closest ({tried})"


def chosen(records, target, fp32_path):
    """The record kept: the first reaching `target`, else the closest; an error when every candidate failed."""
    usable = [r for r in records if "failed" not in r]
    if not usable:
        raise QuantizationError(f"{fp32_path}: every way of quantizing it failed "
                                f"({records[-1]['failed']}); report this as a bug.")
    passed = [r for r in usable if r["agreement"] >= target]
    return passed[0] if passed else max(usable, key=lambda r: r["agreement"])


def made_otherwise(name, make, path, fp32, selection_images):
    """The record of an int8 file `make(path)` writes some other way, measured like the candidates."""
    make(path)
    return {"name": name, "path": path, "bytes": path.stat().st_size,
            "agreement": agreement(fp32, OnnxClassifier(path), selection_images)}


def quantize_checked(fp32_path, out_path, calibration_images, selection_images, candidates=CANDIDATES,
                     target=TARGET_AGREEMENT, try_all=False, announce=None, keep_float=(), last_resort=None):
    """Quantize `fp32_path` to `out_path`, trying `candidates` in turn; returns what was tried and kept.

    A candidate is judged by its agreement with fp32 on `selection_images` (training images the
    calibration did not use); the first reaching `target` is kept (with `try_all`, every
    candidate is measured and the first reaching it is still the one kept). When none reaches it
    (or with `try_all`), `last_resort` (name, make), if given, is tried last: `make(path)` writes
    an int8 file at path. `announce(text)` is told of each candidate as it starts. Nodes named in
    `keep_float`, and the nodes only a later output needs (the gate), stay in float in every candidate.
    """
    fp32, total = OnnxClassifier(fp32_path), len(candidates) + (last_resort is not None)
    records, work = [], Path(tempfile.mkdtemp(prefix=".quantize.", dir=Path(out_path).parent))
    try:
        preprocess(fp32_path, work / "prepared.onnx")
        for number, candidate in enumerate(candidates):
            if announce:
                announce(f"int8 candidate {number + 1} of {total}: {candidate.name}")
            records.append(try_candidate(candidate, work / f"candidate{number}.onnx", fp32,
                                         calibration_images, selection_images, keep_float))
            if (records[-1]["agreement"] or 0) >= target and not try_all:
                break
        if last_resort and (try_all or all((r["agreement"] or 0) < target for r in records)):
            if announce:
                announce(f"int8 candidate {total} of {total}: {last_resort[0]}")
            records.append(made_otherwise(*last_resort, work / "last_resort.onnx", fp32, selection_images))
        kept = chosen(records, target, fp32_path)
        with atomic_path(out_path) as tmp:
            shutil.copyfile(kept["path"], tmp)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"format": "QDQ", "activations": "uint8", "weights": "int8", "target_agreement": target,
            "calibration_images": len(calibration_images),
            "selection_images": len(selection_images), "kept": kept["name"],
            "why": why_kept(records, kept, target, len(selection_images)),
            "candidates": [{k: v for k, v in r.items() if k != "path"} for r in records]}
