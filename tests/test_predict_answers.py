"""The gate and the conformal threshold travel with the export: `predict --stage` and `predict --onnx`
give the same answer, a refusal is an answer (exit 0), and folders are read image by image."""

import json

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from skinkit.data.augment import BatchAugment
from skinkit.deployment import export
from skinkit.deployment.contract import stage_classifier
from skinkit.deployment.gate_nodes import gate_nodes
from skinkit.deployment.runtime import OnnxClassifier
from skinkit.training.stage import load_stage_model
from skinkit.uncertainty import gate
from skinkit.uncertainty.features import pooled_features, split_features
from skinkit.uncertainty.stage import FILE, read_uncertainty

from .helpers import SAMPLE, copied_export
from .test_deployment import STAGE, run_cli


@pytest.fixture(scope="module")
def exported(cli_export, tmp_path_factory):
    """(runs root, export folder) of one gated export through the command line."""
    return copied_export(cli_export, tmp_path_factory)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A folder with a course image, a wide noise photo and a text file."""
    folder = tmp_path_factory.mktemp("photos")
    Image.open(sorted((SAMPLE / "val").glob("*.png"))[0]).save(folder / "a_lesion.png")
    noise = np.random.default_rng(0).integers(0, 256, (90, 160, 3), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "b_noise.jpg")
    (folder / "notes.txt").write_text("not a photo")
    return folder


def test_export_json_and_metadata_carry_the_statistics_of_the_run_folder(exported):
    runs, folder = exported
    record = json.loads((folder / "export.json").read_text())
    saved = read_uncertainty(runs / STAGE / FILE)
    assert record["temperature"] == saved["temperature"] > 0
    assert record["conformal"] == {"alpha": 0.1, "threshold": saved["conformal_threshold"]}
    assert record["gate"]["threshold"] == saved["ood_threshold"]
    for file in ("model.onnx", "model.int8.onnx"):
        model = onnx.load(str(folder / file))
        assert [output.name for output in model.graph.output] == ["probabilities", "ood_score"]
        meta = {prop.key: prop.value for prop in model.metadata_props}
        assert float(meta["conformal_threshold"]) == saved["conformal_threshold"]
        assert float(meta["ood_threshold"]) == saved["ood_threshold"]


def test_the_graphs_ood_score_is_the_mahalanobis_distance_of_the_pooled_features(exported):
    runs, folder = exported
    model, config = load_stage_model(runs, STAGE)
    saved = read_uncertainty(runs / STAGE / FILE)
    images, _ = export.validation_inputs(SAMPLE / "val", "small", config["image_size"])
    with torch.inference_mode():
        normalise = BatchAugment("small", config["image_size"], train=False).normalise_to_rgb
        inputs = normalise(torch.as_tensor(images).float())
        pooled = pooled_features(model.eval(), inputs).numpy()
    _, ood = OnnxClassifier(folder / "model.onnx").scores(images)
    np.testing.assert_allclose(ood, gate.mahalanobis(pooled, saved["means"], saved["precision"]), rtol=2e-3)
    # the threshold refuses the share export.json reports of the validation images, as training fed them
    features, _, _ = split_features(model, SAMPLE, "val", config["image_size"], "cpu")
    refused = gate.mahalanobis(features, saved["means"], saved["precision"]) > saved["ood_threshold"]
    assert refused.mean() == pytest.approx(saved["refused_validation"])


def test_int8_leaves_the_gate_in_float(exported):
    runs, folder = exported
    fp32, int8 = (onnx.load(str(folder / file)) for file in ("model.onnx", "model.int8.onnx"))
    assert gate_nodes(fp32) and set(gate_nodes(fp32)) <= {node.name for node in int8.graph.node}
    side = read_uncertainty(runs / STAGE / FILE)["precision"].shape
    stored = {(tuple(t.dims), t.data_type) for t in int8.graph.initializer}
    # the precision matrix stays a float matrix; quantized, it would be stored as 8-bit integers
    assert (side, onnx.TensorProto.FLOAT) in stored and (side, onnx.TensorProto.INT8) not in stored


@pytest.mark.parametrize("file", ["model.onnx", "model.int8.onnx"])
def test_blank_frames_of_any_gray_level_are_refused_by_pytorch_and_onnx(exported, file):
    runs, folder = exported
    size = OnnxClassifier(folder / file).image_size
    levels = (0, 60, 128, 200, 255)
    frames = np.stack([np.full((1, size, size), level, dtype=np.uint8) for level in levels])
    lesion = export.validation_inputs(SAMPLE / "val", "small", size)[0][:3]
    threshold = read_uncertainty(runs / STAGE / FILE)["ood_threshold"]
    for classifier in (stage_classifier(runs, STAGE), OnnxClassifier(folder / file)):
        ood = classifier.scores(np.concatenate([frames, lesion]))[1]
        assert (ood[:len(levels)] > threshold).all() and np.isfinite(ood).all()
        # real lesions keep their distance: the contrast rule does not touch them
        assert (ood[len(levels):] < gate.BLANK_SCORE).all()


def answers(*args):
    """(exit status, JSON answers, stderr) of `predict --json`."""
    status, out, err, _ = run_cli("predict", "--json", *args)
    return status, [json.loads(line) for line in out.splitlines()], err


def test_stage_and_onnx_give_the_same_answers_for_a_folder(exported, photos):
    runs, folder = exported
    status, by_stage, err = answers(photos, "--runs", runs, "--stage", STAGE)
    assert status == 0 and [a["file"] for a in by_stage] == [str(photos / "a_lesion.png"), str(photos / "b_noise.jpg")]
    _, by_onnx, _ = answers(photos, "--onnx", folder / "model.onnx")
    for torch_answer, onnx_answer in zip(by_stage, by_onnx):
        assert set(torch_answer) == {"file", "label", "probabilities", "prediction_set", "in_distribution",
                                     "ood_score"}
        for key in ("label", "prediction_set", "in_distribution"):
            assert torch_answer[key] == onnx_answer[key]
        assert onnx_answer["ood_score"] == pytest.approx(torch_answer["ood_score"], rel=1e-3)
        probabilities = onnx_answer["probabilities"]
        expected = [code for code in probabilities if 1 - probabilities[code] <= float(
            OnnxClassifier(folder / "model.onnx").metadata["conformal_threshold"])]
        assert sorted(onnx_answer["prediction_set"]) == sorted(expected) or not onnx_answer["in_distribution"]


def test_a_refusal_is_an_answer_and_a_bad_file_one_line_after_the_others(exported, photos, tmp_path):
    _, folder = exported
    model = onnx.load(str(folder / "model.onnx"))
    onnx.helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props}, "ood_threshold": "-1"})
    strict = tmp_path / "strict.onnx"
    onnx.save(model, str(strict))
    status, refused, _ = answers(photos / "a_lesion.png", "--onnx", strict)
    assert status == 0 and refused[0]["in_distribution"] is False
    assert refused[0]["label"] is None and refused[0]["prediction_set"] == []
    status, out, err, _ = run_cli("predict", photos / "notes.txt", photos / "a_lesion.png", "--onnx", strict)
    assert status == 2 and "not like the training images: refer" in out and len(err.splitlines()) == 1


def test_an_empty_folder_is_one_line(exported, tmp_path):
    status, out, err, _ = run_cli("predict", tmp_path, "--onnx", exported[1] / "model.onnx")
    assert status == 2 and "folder without JPEG or PNG photos" in err
