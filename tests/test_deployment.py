"""Notebook 9 and `skinkit export | predict`: the exported model keeps PyTorch's numbers and its
contract, int8 is chosen by measured agreement, any photo can be classified, and bad files end as
one line each after the good ones."""

import contextlib
import io
import json
import shutil
import warnings
from dataclasses import asdict

import numpy as np
import onnx
import onnxruntime
import pandas as pd
import pytest
import torch
from PIL import Image
from torchvision.ops import SqueezeExcitation

from skinkit.__main__ import main
from skinkit.classes import CLASS_CODES
from skinkit.data.augment import BatchAugment
from skinkit.data.dataset import SkinLesionDataset
from skinkit.deployment import export, quantize, report
from skinkit.deployment.contract import input_size
from skinkit.deployment.gate_nodes import gate_nodes
from skinkit.deployment.inputs import crop_to_input
from skinkit.deployment.predict import PhotoError, classify_photo, load_classifier
from skinkit.deployment.runtime import ModelFileError, OnnxClassifier
from skinkit.errors import KitError
from skinkit.exercises.deployment import confidence_reading, latency_reading, quantization_reading, striped_picture
from skinkit.files import write_json
from skinkit.reporting.conclusion import TEXT_WIDTH
from skinkit.training.models import build_model
from skinkit.training.run_folders import save_checkpoint
from skinkit.training.stage import load_stage_model
from skinkit.uncertainty import temperature

from .helpers import SAMPLE, copied_export, main_in_fresh_python

STAGE, SIZE = "small_finetune", 64


def responsive(model, size=SIZE):
    """`model` with batch-norm statistics of the sample's training images: a random network whose
    output moves with its input (with the default statistics every input gives the same output)."""
    dataset = SkinLesionDataset(SAMPLE / "train")
    images = torch.stack([dataset.image(i) for i in range(len(dataset))])
    inputs = BatchAugment(model.architecture, size, train=False)(images)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # a plain average over the one pass
    with torch.no_grad():
        model.train()(inputs)
    return model.eval()


def finished_run(runs_root, stage=STAGE, seed=0):
    """A run folder as run_stage leaves it, for a random but responsive Small at 64 px on the sample."""
    torch.manual_seed(seed)
    model = responsive(build_model("small", pretrained=False))
    save_checkpoint(runs_root / stage / "best.pt", {"state_dict": model.state_dict(), "architecture": "small"})
    write_json(runs_root / stage / "config.json", {"model": "small", "image_size": SIZE, "pretrained": False,
                                                   "data_root": str(SAMPLE), "stage": stage})
    write_json(runs_root / stage / "metrics.json", {"balanced_accuracy": 1 / 7})
    return runs_root


def run_cli(*args):
    """(exit status, stdout, stderr, warnings) of `python -m skinkit` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = main([str(arg) for arg in args])
    return status, out.getvalue(), err.getvalue(), [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def exported(cli_export, tmp_path_factory):
    """One export through the command line: (runs root, export folder, exit status, stdout, stderr, warnings)."""
    return *copied_export(cli_export, tmp_path_factory), *cli_export[2:]


def test_export_writes_three_files_and_prints_only_its_steps_and_summary(exported):
    _, folder, status, out, err, caught = exported
    assert status == 0 and err == "" and caught == []
    assert "torch.onnx" not in out and "histogram" not in out and "[W:onnxruntime" not in out
    summary = flat(out)[flat(out).index(f"{STAGE}: wrote "):]
    assert "int8 recipe: " in summary and f"{STAGE} step" not in summary
    assert sorted(p.name for p in folder.iterdir()) == ["export.json", "model.int8.onnx", "model.onnx"]


def test_export_announces_every_step_and_candidate_before_its_summary(exported):
    runs, folder, _, out, *_ = exported
    steps = [line for line in out.splitlines() if line.startswith(f"{STAGE} step ")]
    tried = json.loads((folder / "export.json").read_text())["quantization"]["candidates"]
    assert len(steps) == len(tried) + 2  # the ONNX export, each candidate tried, the checks
    numbers = [line.split(" ")[2].rstrip(":").split("/") for line in steps]
    assert [int(done) for done, _ in numbers] == list(range(1, len(steps) + 1))
    assert int(numbers[-1][1]) == len(steps)  # the last step knows it is the last
    assert all(candidate["name"] in line for candidate, line in zip(tried, steps[1:-1]))
    assert all("left" in line for line in steps[1:]) and "left" not in steps[0]


def kit_probabilities(runs, images):
    """The PyTorch stage model on uint8 images with the kit's own normalisation (as training fed it)."""
    model, _ = load_stage_model(runs, STAGE)
    normalise = BatchAugment("small", SIZE, train=False)
    with torch.inference_mode():
        return model.eval()(normalise.normalise_to_rgb(torch.as_tensor(images).float())).softmax(1).numpy()


@pytest.mark.parametrize("batch", [1, 5])
def test_onnx_agrees_with_pytorch_on_random_uint8_images(exported, batch):
    runs, folder, *_ = exported
    images = np.random.default_rng(batch).integers(0, 256, (batch, 1, SIZE, SIZE), dtype=np.uint8)
    onnx_probabilities = OnnxClassifier(folder / "model.onnx")(images)
    assert onnx_probabilities.shape == (batch, len(CLASS_CODES))
    # the graph divides the logits by export.json's temperature (fitted on validation)
    scaled = temperature.scaled(kit_probabilities(runs, images),
                                json.loads((folder / "export.json").read_text())["temperature"])
    np.testing.assert_allclose(onnx_probabilities, scaled, atol=1e-4, rtol=0)
    np.testing.assert_allclose(onnx_probabilities.sum(1), 1, atol=1e-5)


@pytest.mark.parametrize("file", ["model.onnx", "model.int8.onnx"])
def test_both_files_carry_the_contract(exported, file):
    model = onnx.load(str(exported[1] / file))
    onnx.checker.check_model(model)
    (image,), (probabilities, ood_score) = model.graph.input, model.graph.output
    assert ood_score.name == "ood_score"
    assert (image.name, image.type.tensor_type.elem_type) == ("image", onnx.TensorProto.UINT8)
    assert [d.dim_param or d.dim_value for d in image.type.tensor_type.shape.dim][1:] == [1, SIZE, SIZE]
    assert probabilities.name == "probabilities"
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 18
    meta = {prop.key: prop.value for prop in model.metadata_props}
    assert meta["classes"].split(",") == list(CLASS_CODES)
    assert (meta["image_size"], meta["stage"], meta["architecture"]) == (str(SIZE), STAGE, "small")
    assert meta["skinkit_version"] and meta["pretrained"] == "false"


def test_export_json_records_every_check(exported):
    record = json.loads((exported[1] / "export.json").read_text())
    assert record["onnx_vs_pytorch"]["max_probability_difference"] < 1e-4
    assert record["onnx_vs_pytorch"]["same_predicted_class"] and record["onnx_vs_pytorch"]["images"] == 35
    files = record["files"]
    assert files["int8_bytes"] == (exported[1] / "model.int8.onnx").stat().st_size
    # the gate's means and precision matrix stay float in both files: compare the rest
    gate_bytes = 4 * sum(t.size for t in np.load(exported[0] / STAGE / "uncertainty.npz").values()
                         if t.ndim == 2)
    assert (files["int8_bytes"] - gate_bytes) / (files["fp32_bytes"] - gate_bytes) <= 0.3
    check = record["int8_vs_fp32"]
    assert 0 <= check["same_class_share"] <= 1 and check["change_low"] <= check["change_high"]
    assert check["fp32"]["low"] <= check["fp32"]["balanced_accuracy"] <= check["fp32"]["high"]
    assert {name: summary["timed_runs"] for name, summary in record["latency_ms"].items()} == {
        "pytorch_eager": 30, "onnxruntime_fp32": 30, "onnxruntime_int8": 30}
    kept = record["quantization"]["kept"]
    assert kept in [c["name"] for c in record["quantization"]["candidates"]]
    assert record["quantization"]["calibration_images"] + record["quantization"]["selection_images"] == 35


def write_photo(path, mode, size, seed=0):
    """A random photo in `mode` (RGB, L, RGBA) of `size` (width, height), saved as its suffix says."""
    channels = {"RGB": 3, "L": 1, "RGBA": 4}[mode]
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode).save(path)
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Photos of every kind predict must take: RGB and gray, JPEG and PNG, odd and large sizes."""
    folder = tmp_path_factory.mktemp("photos")
    return [write_photo(folder / "rgb.jpg", "RGB", (640, 480)), write_photo(folder / "gray.png", "L", (37, 91)),
            write_photo(folder / "rgba.png", "RGBA", (301, 299)), write_photo(folder / "gray.jpg", "L", (1000, 17)),
            SAMPLE / "val" / sorted(p.name for p in (SAMPLE / "val").iterdir())[0]]


def top_lines(out):
    """{file: its answer} from predict's output lines (the disclaimer line has no colon-path)."""
    lines = [line for line in out.splitlines() if ": " in line and "course model" not in line]
    return dict(line.split(": ", 1) for line in lines)


def test_predict_answers_each_photo_once_after_one_disclaimer(exported, photos):
    runs = exported[0]
    status, out, err, _ = run_cli("predict", *photos, "--runs", runs)
    assert status == 0 and "not a diagnosis" not in err
    assert out.count("not a diagnosis") == 1
    answers = top_lines(out)
    assert list(answers) == [str(p) for p in photos]
    assert all(answer.startswith("not like the training images: refer") or answer.split()[0] in CLASS_CODES
               for answer in answers.values())


def test_stage_and_onnx_give_the_same_probabilities_for_a_photo(exported, photos):
    runs, folder, *_ = exported
    torch_model, onnx_model = load_classifier(runs, STAGE), load_classifier(onnx_file=folder / "model.onnx")
    for photo in photos:
        expected, got = classify_photo(torch_model, photo), classify_photo(onnx_model, photo)
        assert got.argmax() == expected.argmax(), photo
        np.testing.assert_allclose(got, expected, atol=1e-4)


def test_bad_files_are_one_line_each_after_every_good_photo(exported, photos, tmp_path):
    runs = exported[0]
    (tmp_path / "notes.jpg").write_text("not an image")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(photos[0].read_bytes()[:2000])
    missing = tmp_path / "missing.png"
    status, out, err, _ = run_cli("predict", missing, photos[0], tmp_path / "notes.jpg", truncated, photos[1],
                                  "--runs", runs)
    assert status == 2
    assert list(top_lines(out)) == [str(photos[0]), str(photos[1])]
    lines = err.splitlines()
    assert len(lines) == 3 and all(line.startswith("predict: ") for line in lines)
    for bad, line in zip((missing, tmp_path / "notes.jpg", truncated), lines):
        assert str(bad) in line


def test_a_file_that_is_no_model_is_one_line(tmp_path, photos):
    (tmp_path / "model.onnx").write_text("not a model")
    status, out, err, _ = run_cli("predict", photos[0], "--onnx", tmp_path / "model.onnx")
    assert status == 2 and out == "" and len(err.splitlines()) == 1 and "model.onnx" in err
    status, _, err, _ = run_cli("predict", photos[0], "--runs", tmp_path)
    assert status == 2 and "05_small_finetuning" in err


def test_a_model_without_the_resize_in_its_metadata_is_one_line(exported, tmp_path, photos):
    model = onnx.load(str(exported[1] / "model.onnx"))
    kept = [prop for prop in model.metadata_props if prop.key != "resize"]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    onnx.save(model, str(tmp_path / "model.onnx"))
    status, out, err, _ = run_cli("predict", photos[0], "--onnx", tmp_path / "model.onnx")
    assert status == 2 and out == ""
    assert len(err.splitlines()) == 1 and "lacks resize" in err and "export the stage again" in err


def test_predict_with_an_exported_model_never_imports_torch(exported, photos):
    run = main_in_fresh_python(["predict", "--onnx", exported[1] / "model.onnx", *photos])
    assert run["statuses"] == [0], run["stderr"]
    assert list(top_lines(run["stdout"])) == [str(p) for p in photos]
    assert not run["torch"]


@pytest.mark.parametrize("model_name, image_size", [("small", SIZE), ("small", 224), ("large", 128)])
def test_the_numpy_crop_is_validations_resize_and_crop(model_name, image_size):
    dataset = SkinLesionDataset(SAMPLE / "val")
    images = torch.stack([dataset.image(i) for i in range(len(dataset))])
    odd = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 1, 37, 91), dtype=np.uint8))
    for batch in (images, odd):
        augment = BatchAugment(model_name, image_size, train=False)
        expected = augment.warp(batch, *augment.sample_params(len(batch))[:3]).round()  # PyTorch's grid_sample
        got = crop_to_input(batch.numpy(), *input_size(model_name, image_size))
        difference = np.abs(got - expected.numpy())
        # Equal but for float rounding at exact halves: one gray level, on a few pixels in ten thousand.
        assert got.dtype == np.uint8 and difference.max() <= 1 and (difference > 0).mean() < 0.005


@pytest.mark.parametrize("prepared", [False, True], ids=["exported", "pre-processed"])
def test_squeeze_excite_multiplications_and_classifier_are_found_in_the_graph(exported, tmp_path, prepared):
    path = exported[1] / "model.onnx"
    if prepared:  # onnxruntime's pre-processing writes hard-swish as x * HardSigmoid(x): not an excitation
        quantize.preprocess(path, tmp_path / "prepared.onnx")
        path = tmp_path / "prepared.onnx"
    model = onnx.load(str(path))
    blocks = sum(isinstance(m, SqueezeExcitation) for m in build_model("small", pretrained=False).modules())
    every = quantize.Candidate("all", float_squeeze_excite=True, float_classifier=True)
    gate = gate_nodes(model)  # always float, whatever the candidate
    assert gate and set(gate) <= set(quantize.float_nodes(model, quantize.CANDIDATES[0]))
    kept = [name for name in quantize.float_nodes(model, every) if name not in gate]
    types = {node.name: node.op_type for node in model.graph.node}
    assert sorted(types[name] for name in kept) == sorted(["Softmax", "Gemm"] + ["Mul"] * blocks)
    assert [types[name] for name in quantize.float_nodes(model, quantize.CANDIDATES[0]) if name not in gate] == [
        "Softmax"]


def test_every_activation_of_the_int8_file_is_8_bit_and_every_weight_int8(exported):
    model = onnx.load(str(exported[1] / "model.int8.onnx"))
    constants = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    zero_points = {node.op_type: [] for node in model.graph.node}
    for node in model.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            zero_points[node.op_type].append(constants[node.input[2]].dtype)
    assert set(zero_points["QuantizeLinear"]) == {np.dtype(np.uint8)}  # every quantized activation
    # the activations, the weights and (int32) the biases; nothing 16-bit
    assert set(zero_points["DequantizeLinear"]) == {np.dtype(np.uint8), np.dtype(np.int8), np.dtype(np.int32)}
    producer = {output: node for node in model.graph.node for output in node.output}
    conv_weights = [constants[producer[node.input[1]].input[0]] for node in model.graph.node
                    if node.op_type == "Conv" and node.input[1] in producer]
    assert conv_weights and all(w.dtype == np.int8 for w in conv_weights)
    float_convolutions = [node.name for node in model.graph.node if node.op_type == "Conv"
                          and node.input[1] in constants and constants[node.input[1]].dtype == np.float32]
    assert float_convolutions == []


def test_pooling_over_height_and_width_becomes_global_average_pooling_with_the_same_numbers(exported, tmp_path):
    path = exported[1] / "model.onnx"
    with contextlib.redirect_stdout(io.StringIO()):
        from onnxruntime.quantization.shape_inference import quant_pre_process
        quant_pre_process(str(path), str(tmp_path / "plain.onnx"))
    quantize.preprocess(path, tmp_path / "pooled.onnx")
    plain, pooled = (onnx.load(str(tmp_path / f"{name}.onnx")) for name in ("plain", "pooled"))
    count = [sum(node.op_type == op for node in model.graph.node)
             for model in (plain, pooled) for op in ("ReduceMean", "GlobalAveragePool")]
    poolings = sum(isinstance(m, torch.nn.AdaptiveAvgPool2d) for m in build_model("small", pretrained=False).modules())
    # squeeze-excite's and the classifier's poolings become GlobalAveragePool; the gate's means over
    # every pixel of the image (its contrast check) stay ReduceMean
    assert count[1] == 0 and count[3] == poolings and count[0] - count[2] == poolings
    images = np.random.default_rng(0).integers(0, 256, (3, 1, SIZE, SIZE), dtype=np.uint8)
    outputs = [onnxruntime.InferenceSession(str(tmp_path / f"{name}.onnx"), providers=["CPUExecutionProvider"])
               .run(None, {"image": images})[0] for name in ("plain", "pooled")]
    np.testing.assert_allclose(*outputs, atol=1e-6)


def test_nodes_only_a_later_output_needs_stay_in_float(tmp_path):
    """A hand-built graph: features -> classifier -> probabilities, and features -> distance -> ood_score."""
    make = onnx.helper.make_node
    nodes = [make("Relu", ["image"], ["features"], name="shared"),
             make("Softmax", ["features"], ["probabilities"], name="classifier"),
             make("Mul", ["features", "features"], ["squared"], name="gate_square"),
             make("ReduceSum", ["squared"], ["ood_score"], name="gate_sum", keepdims=0)]
    info = onnx.helper.make_tensor_value_info
    graph = onnx.helper.make_graph(nodes, "gate", [info("image", onnx.TensorProto.FLOAT, [1, 7])],
                                   [info("probabilities", onnx.TensorProto.FLOAT, [1, 7]),
                                    info("ood_score", onnx.TensorProto.FLOAT, [1])])
    model = onnx.helper.make_model(graph)
    assert quantize.gate_nodes(model) == ["gate_square", "gate_sum"]
    assert sorted(quantize.float_nodes(model, quantize.CANDIDATES[0], keep_float=["shared"])) == [
        "classifier", "gate_square", "gate_sum", "shared"]
    del model.graph.output[1]
    assert quantize.gate_nodes(model) == []


def fake_candidates(monkeypatch, agreements):
    """Make quantize_checked try candidates whose agreements are given (None: the candidate fails)."""
    measured = iter(agreements)

    def try_candidate(candidate, path, fp32, calibration, selection, keep_float=()):
        path.write_text(candidate.name)
        agreement = next(measured)
        if agreement is None:
            return {**asdict(candidate), "path": path, "failed": "broken", "agreement": None}
        return {**asdict(candidate), "path": path, "bytes": 1, "agreement": agreement}

    monkeypatch.setattr(quantize, "try_candidate", try_candidate)
    monkeypatch.setattr(quantize, "preprocess", lambda source, target: None)
    monkeypatch.setattr(quantize, "OnnxClassifier", lambda path: None)


def quantize_with(tmp_path, try_all=False):
    images = np.zeros((4, 1, SIZE, SIZE), np.uint8)
    return quantize.quantize_checked(tmp_path / "model.onnx", tmp_path / "model.int8.onnx", images, images[:3],
                                     candidates=quantize.CANDIDATES[:4], try_all=try_all)


def test_the_first_candidate_good_enough_is_kept_and_no_more_are_tried(monkeypatch, tmp_path):
    fake_candidates(monkeypatch, [0.90, None, 0.98, 0.99])
    result = quantize_with(tmp_path)
    assert result["kept"] == quantize.CANDIDATES[2].name == (tmp_path / "model.int8.onnx").read_text()
    assert [c["agreement"] for c in result["candidates"]] == [0.90, None, 0.98]
    assert "the first to keep" in result["why"] and "90.0%" in result["why"] and "failed" in result["why"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.int8.onnx"]  # no scratch files left


def test_with_none_good_enough_every_candidate_is_tried_and_the_closest_kept(monkeypatch, tmp_path):
    fake_candidates(monkeypatch, [0.90, 0.95, 0.93, 0.80])
    result = quantize_with(tmp_path)
    assert len(result["candidates"]) == 4 and result["kept"] == quantize.CANDIDATES[1].name
    assert result["why"].startswith("no candidate kept")


def test_try_all_measures_every_candidate_but_keeps_the_first_good_enough(monkeypatch, tmp_path):
    fake_candidates(monkeypatch, [0.98, 0.99, 0.99, 0.99])
    result = quantize_with(tmp_path, try_all=True)
    assert len(result["candidates"]) == 4 and result["kept"] == quantize.CANDIDATES[0].name
    assert result["why"].startswith("it was tried first")


def test_when_every_candidate_fails_the_export_stops_with_one_line(monkeypatch, tmp_path):
    fake_candidates(monkeypatch, [None] * 4)
    with pytest.raises(quantize.QuantizationError, match="model.onnx"):
        quantize_with(tmp_path)


def record(share=0.99, change=(-0.004, -0.03, 0.02), int8_score=(0.41, 0.37, 0.45), pretrained=False, classes=7,
           latency=((3.0, 2.9, 3.2), (2.0, 1.9, 2.1), (9.0, 8.0, 10.0)), sizes=(6_400_000, 1_700_000), steady=0.995):
    """An export.json record with the numbers the notebook's table and sentences read."""
    timing = {name: {"cpu_latency_ms": m, "cpu_latency_q1_ms": q1, "cpu_latency_q3_ms": q3, "timed_runs": 30}
              for name, (m, q1, q3) in zip(("onnxruntime_fp32", "onnxruntime_int8", "pytorch_eager"), latency)}
    value, low, high = int8_score
    return {"pretrained": pretrained, "latency_threads": 1, "latency_ms": timing, "fp32_one_level_steadiness": steady,
            "files": {"fp32_bytes": sizes[0], "int8_bytes": sizes[1], "int8_to_fp32": sizes[1] / sizes[0]},
            "int8_vs_fp32": {"images": 1000, "same_class_share": share, "confidence": 0.95,
                             "fp32_classes_predicted": classes,
                             "fp32": {"balanced_accuracy": value - change[0], "low": low, "high": high},
                             "int8": {"balanced_accuracy": value, "low": low, "high": high},
                             "balanced_accuracy_change": change[0], "change_low": change[1], "change_high": change[2]},
            "quantization": {"target_agreement": 0.97, "kept": "recipe X", "why": "reason Y"}}


def flat(text):
    """Text with its line breaks and indents as single spaces."""
    return " ".join(text.split())


def test_table_has_four_columns_and_every_number_from_the_records():
    records = {"MobileNetV3-Large": record(int8_score=(0.512, 0.47, 0.55)), "MobileNetV3-Small": record()}
    table = report.deployment_table(records)
    assert list(table.columns) == ["Large fp32", "Large int8", "Small fp32", "Small int8"]
    assert table.loc["file size (MB)"].tolist() == ["6.4", "1.7", "6.4", "1.7"]
    assert table.loc["same class as fp32", "Small int8"] == "99.0%"
    assert table.loc["same class, pixels ±1 gray", "Small fp32"] == "99.5%"
    assert table.loc["balanced accuracy [95% interval]", "Large int8"] == "0.512 [0.470, 0.550]"
    assert table.loc["change vs fp32 [95% interval]", "Small int8"] == "-0.004 [-0.030, +0.020]"
    assert table.index.name == "1000 validation images; ms per image on 1 CPU thread(s)"
    assert max(len(label) for label in table.index) <= 32 and max(len(c) for c in table.to_numpy().ravel()) <= 24


def test_cautions_are_raised_exactly_where_a_run_can_mislead():
    def raised(**changes):
        return set(report.cautions_of(record(**changes), 0.97))
    learned = {"pretrained": True, "int8_score": (0.45, 0.40, 0.50)}
    assert raised(**learned) == set()
    assert raised(**{**learned, "pretrained": False}) == {"random init"}
    assert raised(**{**learned, "int8_score": (0.17, 0.13, 0.21)}) == {"at chance"}  # interval reaches 1/7
    assert raised(**{**learned, "classes": 1}) == {"one class"}
    assert raised(**{**learned, "share": 0.969}) == {"goal missed"} and raised(**{**learned, "share": 0.97}) == set()
    assert raised(**learned, share=0.9, steady=0.9) == {"goal missed", "fp32 unsteady"}
    assert raised(**learned, share=0.9, steady=0.97) == {"goal missed"} and raised(**learned, steady=0.9) == set()
    slower = ((3.0, 2.9, 3.2), (7.0, 6.8, 7.2), (9.0, 8.0, 10.0))
    assert raised(**learned, latency=slower) == {"int8 slower"}
    overlapping = ((3.0, 2.9, 3.2), (3.1, 3.0, 3.3), (9.0, 8.0, 10.0))
    assert raised(**learned, latency=overlapping) == set()  # not shown to be slower


def test_cautions_print_one_paragraph_per_caution_and_nothing_for_a_clean_run():
    clean = {"pretrained": True, "int8_score": (0.45, 0.40, 0.50)}
    records = {"MobileNetV3-Large": record(**clean), "MobileNetV3-Small": record(**clean)}
    assert report.cautions(records, 0.97) == ""
    records["MobileNetV3-Small"] = record(share=0.5)
    text = report.cautions(records, 0.97)
    assert len(text.split("\n\n")) == len(report.cautions_of(records["MobileNetV3-Small"], 0.97)) == 2
    assert max(len(line) for line in text.splitlines()) <= TEXT_WIDTH


def test_a_photo_is_made_gray_square_and_centred_like_the_course_images(exported, tmp_path):
    course_image = SAMPLE / "val" / sorted(p.name for p in (SAMPLE / "val").iterdir())[0]
    gray = np.asarray(Image.open(course_image))
    height, width = gray.shape
    wide = np.zeros((height, width + 200, 3), np.uint8)
    wide[..., 0] = 255  # red bands either side, which the centre square drops
    wide[:, 100:100 + width] = gray[..., None]
    Image.fromarray(wide).save(tmp_path / "wide.png")
    classifier = load_classifier(exported[0], STAGE)
    expected = classify_photo(classifier, course_image)
    np.testing.assert_allclose(classify_photo(classifier, tmp_path / "wide.png"), expected, atol=1e-6)


def test_a_failed_export_leaves_the_previous_files_as_they_were(exported, tmp_path, monkeypatch):
    runs, folder, *_ = exported
    out = tmp_path / "out"
    shutil.copytree(folder, out)
    before = {path.name: path.read_bytes() for path in out.iterdir()}

    def broken(*args, **kwargs):
        raise quantize.QuantizationError("broken on purpose")

    monkeypatch.setattr(export, "export_onnx", lambda model, size, path, props: path.write_bytes(b"new"))
    monkeypatch.setattr(export, "quantize_checked", broken)
    with pytest.raises(quantize.QuantizationError):
        export.export_stage(runs, STAGE, out)
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


@pytest.mark.parametrize("error, old_base", [(PhotoError, ValueError), (ModelFileError, ValueError),
                                             (quantize.QuantizationError, RuntimeError)], ids=lambda e: e.__name__)
def test_expected_errors_are_kit_errors_with_their_own_title(error, old_base):
    assert issubclass(error, KitError) and issubclass(error, old_base) and error.title != KitError.title


def test_solution_readings_follow_their_numbers(tmp_path):
    timings = pd.DataFrame({"fp32 ms": [1.0, 1.4, 1.2], "int8 ms": [3.0, 3.1, 3.0]},
                           index=pd.Index([5, 5, 100], name="timed runs"))
    assert "moved by up to 0.40 ms" in flat(latency_reading(timings))
    assert "differ by 1.80 ms, larger than that" in flat(latency_reading(timings))
    candidates = pd.DataFrame({"agreement": [0.9, 0.8, 0.95]}, index=["per-channel", "per-tensor", "float"])
    assert flat(quantization_reading(candidates)).endswith("Best here: float.")
    assert "no difference" in quantization_reading(pd.DataFrame({"agreement": [0.9, 0.9]}, index=["a", "b"]))
    tops = pd.DataFrame({"top class": ["mel", "nv"], "probability": [0.8, 0.9]}, index=["lesion photo", "stripes"])
    assert "nv with probability 0.90, no lower than" in confidence_reading(tops)
    picture = Image.open(striped_picture(tmp_path / "new" / "stripes.png"))
    assert picture.mode == "L" and len(set(np.asarray(picture).ravel())) == 2
