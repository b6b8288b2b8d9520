"""Notebook 6's helpers: model cost, timings with their spread, test scores with intervals, and the
cautions: a model not above chance, a difference whose interval includes zero, rough latencies."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import balanced_accuracy_score
from torch import nn

from skinkit.classes import CLASS_CODES
from skinkit.files import write_csv, write_json
from skinkit.metrics import labels_from_confusion
from skinkit.reporting import comparison as compare
from skinkit.reporting.comparison import (
    FINAL_STAGES,
    cost_table,
    latency_summary,
    mflops,
    per_class_f1,
    validation_table,
)
from skinkit.reporting.conclusion import (
    TEXT_WIDTH,
    cautions,
    chance_caution,
    difference_caution,
    latency_caution,
    latency_reading,
    model_causes,
    wrap_paragraphs,
)
from skinkit.reporting.predictions import read_predictions, write_predictions
from skinkit.reporting.stage_predictions import evaluate_test_split, stage_predictions
from skinkit.training.models import build_model
from skinkit.training.run_folders import epochs_against_recipe
from skinkit.training.stage import load_stage_model

from .helpers import SAMPLE
from .run_fixtures import make_finished_stage


def test_mflops_match_the_mobilenet_v3_papers():
    assert 50 < mflops(build_model("small", pretrained=False)) < 62   # paper: 56 M multiply-adds
    assert 210 < mflops(build_model("large", pretrained=False)) < 225  # paper: 219 M


def test_per_class_f1_from_counts():
    counts = pd.DataFrame(np.diag([2, 1, 1, 1, 1, 1, 1]), index=CLASS_CODES, columns=CLASS_CODES)
    counts.loc["akiec", "bcc"] = 2  # two akiec images called bcc
    f1 = per_class_f1(counts)
    assert f1["akiec"] == pytest.approx(2 * 1 * 0.5 / 1.5)   # precision 1, recall 2/4
    assert f1["bcc"] == pytest.approx(2 * (1 / 3) * 1 / (4 / 3))  # precision 1/3, recall 1
    assert f1["nv"] == 1.0


def test_latency_summary_gives_median_and_quartiles():
    summary = latency_summary([10.0, 11.0, 12.0, 13.0, 50.0])
    assert summary["cpu_latency_ms"] == 12.0 and summary["timed_runs"] == 5
    assert summary["cpu_latency_q1_ms"] < 12.0 < summary["cpu_latency_q3_ms"] < 50.0


def test_cost_table_times_every_model_the_asked_number_of_times():
    models = {"a": nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten()), "b": nn.Conv2d(3, 1, 1)}
    costs = cost_table(models, repeats=4, warmup=1)
    assert costs.at["a", "parameters_M"] == pytest.approx(56 / 1e6)
    assert list(costs.index) == ["a", "b"] and (costs["timed_runs"] == 4).all()
    assert (costs["cpu_latency_q1_ms"] <= costs["cpu_latency_ms"]).all()
    assert (costs["cpu_latency_ms"] <= costs["cpu_latency_q3_ms"]).all()


def costs(latency=((40.0, 38.0, 42.0), (12.0, 11.5, 12.5))):
    """A cost table as cost_table builds it (models as rows)."""
    return pd.DataFrame([dict(zip(("cpu_latency_ms", "cpu_latency_q1_ms", "cpu_latency_q3_ms"), row), timed_runs=30)
                         for row in latency], index=list(FINAL_STAGES))


def test_latencies_are_rough_when_they_spread_and_unclear_when_they_overlap():
    clear = costs()
    assert latency_reading(clear.iloc[1], clear.iloc[0]) == "clear" and latency_caution(clear) == ""
    noisy = costs(((49.0, 40.0, 1400.0), (16.6, 15.0, 53.0)))
    assert latency_reading(noisy.iloc[1], noisy.iloc[0]) == "rough" and latency_caution(noisy)
    overlapping = costs(((14.0, 13.5, 14.5), (13.0, 12.5, 13.6)))
    assert latency_reading(overlapping.iloc[1], overlapping.iloc[0]) == "overlap" and latency_caution(overlapping)


def test_a_difference_is_only_called_none_when_its_interval_includes_zero():
    assert difference_caution(0.03, 0.11) is None and difference_caution(-0.15, -0.04) is None
    assert difference_caution(-0.01, 0.15) and difference_caution(0.0, 0.0)


def test_only_the_models_not_above_chance_are_named_with_their_causes():
    causes = {"MobileNetV3-Large": ["cause A", "cause B"], "MobileNetV3-Small": ["cause C"]}
    assert chance_caution({"MobileNetV3-Large": "above chance", "MobileNetV3-Small": "above chance"}, causes) is None
    text = chance_caution({"MobileNetV3-Large": "at chance", "MobileNetV3-Small": "above chance"}, causes)
    assert "Large" in text and "Small" not in text
    assert "cause A" in text and "cause B" in text and "cause C" not in text
    shared = {"MobileNetV3-Large": ["cause A"], "MobileNetV3-Small": ["cause A"]}
    both = chance_caution({"MobileNetV3-Large": "at chance", "MobileNetV3-Small": "not clearly above chance"}, shared)
    assert both.count("cause A") == 1 and "Large" in both and "Small" in both


def test_the_likely_causes_come_from_the_run_folders(tmp_path):
    finished_stage(tmp_path, "large_frozen", 4, None)  # random init, 4 of the recipe's 12 epochs
    finished_stage(tmp_path, "large_finetune", 6, 9, init_from="large_frozen")
    found = model_causes(tmp_path, SAMPLE, {"MobileNetV3-Large": "large_finetune"})["MobileNetV3-Large"]
    # no ImageNet weights, the 35-image sample, and the one stage cut short
    assert len(found) == 3 and any("large_frozen" in cause for cause in found)
    assert not any("large_finetune" in cause for cause in found)


def test_no_caution_when_every_model_is_above_chance_and_the_difference_is_clear(tmp_path):
    above = dict.fromkeys(FINAL_STAGES, "above chance")
    assert cautions(tmp_path, SAMPLE, {}, above, (0.02, 0.10)) == ""
    for stage in FINAL_STAGES.values():
        finished_stage(tmp_path, stage, 1, None)
    text = cautions(tmp_path, SAMPLE, FINAL_STAGES, dict.fromkeys(FINAL_STAGES, "at chance"), (-0.1, 0.02))
    assert len(text.split("\n\n")) == 2 and all(len(line) <= TEXT_WIDTH for line in text.splitlines())


def test_paragraphs_are_wrapped_without_breaking_a_hyphenated_name():
    text = wrap_paragraphs("x" * 72 + " melanoma-vs-rest AUC.", None, "", "Second paragraph.")
    assert text == "x" * 72 + "\nmelanoma-vs-rest AUC.\n\nSecond paragraph."


def finished_stage(runs_root, stage, epochs, correct, images=20, init_from=None):
    """A finished run folder: of `images` validation images per class, `correct` right (None: all called nv)."""
    counts = np.zeros((len(CLASS_CODES), len(CLASS_CODES)), dtype=int)
    for label in range(len(CLASS_CODES)):
        if correct is None:
            counts[label, CLASS_CODES.index("nv")] = images
        else:
            counts[label, label], counts[label, (label + 1) % len(CLASS_CODES)] = correct, images - correct
    frame = pd.DataFrame(counts, index=CLASS_CODES, columns=CLASS_CODES)
    write_csv(runs_root / stage / "confusion_matrix.csv", frame, index_label="true")
    balanced = balanced_accuracy_score(*labels_from_confusion(frame))
    write_json(runs_root / stage / "config.json", {"epochs": epochs, "init_from": init_from, "pretrained": False})
    write_json(runs_root / stage / "metrics.json", {"accuracy": 0.5, "balanced_accuracy": balanced,
                                                    "macro_f1": 0.1, "best_epoch": 1})


def test_validation_table_reads_each_stage_against_chance_with_its_interval(tmp_path):
    finished_stage(tmp_path, "large_frozen", 12, None)  # balanced accuracy 1/7
    finished_stage(tmp_path, "large_finetune", 6, 9, init_from="large_frozen")  # 0.45 on 140 images
    finished_stage(tmp_path, "small_frozen", 15, 1, images=4)  # 0.25 on 28 images: the interval reaches 1/7
    table = validation_table(tmp_path, ["large_frozen", "large_finetune", "small_frozen"])
    assert table["balanced_accuracy"].round(3).tolist() == [0.143, 0.45, 0.25]
    assert table["vs_chance"].tolist() == ["at chance", "above chance", "not clearly above chance"]
    assert epochs_against_recipe(tmp_path, "large_finetune") == [("large_frozen", 12, 12), ("large_finetune", 6, 6)]


def test_the_epochs_trained_are_the_rows_of_each_run_folders_history(tmp_path):
    finished_stage(tmp_path, "large_frozen", 12, None)
    write_csv(tmp_path / "large_frozen" / "history.csv", pd.DataFrame({"epoch": [1, 2, 3, 4]}), index=False)
    finished_stage(tmp_path, "large_finetune", 2, 9, init_from="large_frozen")  # no history: its config
    assert epochs_against_recipe(tmp_path, "large_finetune") == [("large_frozen", 4, 12), ("large_finetune", 2, 6)]


def test_test_results_on_the_sample_record_intervals_and_reference_points(tmp_path, capsys):
    for stage in FINAL_STAGES.values():
        make_finished_stage(tmp_path, stage)
    test = compare.test_results(tmp_path, SAMPLE, torch.device("cpu"), tmp_path)
    assert capsys.readouterr().out.count("the one evaluation on the test split, saved to") == 2
    assert test.test_images == 35
    assert test.always_nv_accuracy == pytest.approx(5 / 35)
    for score in ("accuracy", "balanced_accuracy", "macro_f1"):
        assert (test.scores[f"{score}_low"] <= test.scores[score]).all()
        assert (test.scores[score] <= test.scores[f"{score}_high"]).all()
    low, high = test.difference
    observed = [balanced_accuracy_score(*labels_from_confusion(test.matrices[name])) for name in FINAL_STAGES]
    assert low <= observed[0] - observed[1] <= high
    saved = json.loads((tmp_path / "test_metrics.json").read_text())
    assert saved["balanced_accuracy_difference_interval"] == list(test.difference)
    assert saved["MobileNetV3-Large"]["balanced_accuracy_low"] == test.scores.at["MobileNetV3-Large",
                                                                                  "balanced_accuracy_low"]


def test_evaluate_test_split_gives_the_labels_notebook_6_saves(tmp_path):
    make_finished_stage(tmp_path, "small_finetune")
    model, _ = load_stage_model(tmp_path, "small_finetune")
    y_true, y_pred = evaluate_test_split(model, SAMPLE, 64, torch.device("cpu"))
    saved = stage_predictions(tmp_path, "small_finetune", SAMPLE, "test", torch.device("cpu"))
    assert (y_true == saved["true"].map(CLASS_CODES.index)).all()
    assert (y_pred == saved["predicted"].map(CLASS_CODES.index)).all()


def test_the_difference_interval_is_first_minus_second_on_the_same_test_images(tmp_path, monkeypatch):
    y_true = np.repeat(np.arange(len(CLASS_CODES)), 5)
    answers = {"perfect": y_true, "always_nv": np.full(len(y_true), CLASS_CODES.index("nv"))}
    files = [f"{label + 1}_{i}.png" for i, label in enumerate(y_true)]
    for stage, y_pred in answers.items():
        write_json(tmp_path / stage / "config.json", {"pretrained": False})
        write_predictions(tmp_path / stage / "predictions_test.csv", files, y_true, np.eye(len(CLASS_CODES))[y_pred])
    monkeypatch.setattr(compare, "stage_predictions",
                        lambda runs, stage, *args: read_predictions(runs / stage / "predictions_test.csv"))
    # Every stratified resample keeps 5 images per class: balanced accuracy 1 vs 1/7, whatever is drawn.
    monkeypatch.setattr(compare, "FINAL_STAGES", {"A": "perfect", "B": "always_nv"})
    test = compare.test_results(tmp_path, SAMPLE, torch.device("cpu"), tmp_path / "out")
    assert test.difference == pytest.approx((6 / 7, 6 / 7))
    assert test.always_nv_accuracy == pytest.approx(1 / 7)
    monkeypatch.setattr(compare, "FINAL_STAGES", {"B": "always_nv", "A": "perfect"})
    swapped = compare.test_results(tmp_path, SAMPLE, torch.device("cpu"), tmp_path / "out")
    assert swapped.difference == pytest.approx((-6 / 7, -6 / 7))
