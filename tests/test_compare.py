"""Notebook 6's helpers: model cost, timings with their spread, test scores with intervals, and a
conclusion that calls weak results weak and differences differences only when the intervals say so."""

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
    summary_table,
    validation_table,
)
from skinkit.reporting.conclusion import TEXT_WIDTH, conclusion, readable_table, wrap_paragraphs
from skinkit.reporting.predictions import read_predictions, write_predictions
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


def comparison_table(pretrained=True, balanced=(0.71, 0.64), latency=((40.0, 38.0, 42.0), (12.0, 11.5, 12.5))):
    """A summary table as summary_table builds it (models as rows)."""
    (large_ms, large_q1, large_q3), (small_ms, small_q1, small_q3) = latency
    return pd.DataFrame({
        "val_accuracy": [0.80, 0.75], "val_balanced_accuracy": [0.70, 0.62], "val_macro_f1": [0.60, 0.52],
        "test_accuracy": [0.82, 0.78], "test_accuracy_low": [0.79, 0.75], "test_accuracy_high": [0.85, 0.81],
        "test_balanced_accuracy": list(balanced),
        "test_balanced_accuracy_low": [b - 0.05 for b in balanced],
        "test_balanced_accuracy_high": [b + 0.05 for b in balanced],
        "test_macro_f1": [0.62, 0.55], "test_macro_f1_low": [0.57, 0.50], "test_macro_f1_high": [0.67, 0.60],
        "parameters_M": [4.21, 1.53], "MFLOPs": [217.0, 56.0], "cpu_latency_ms": [large_ms, small_ms],
        "cpu_latency_q1_ms": [large_q1, small_q1], "cpu_latency_q3_ms": [large_q3, small_q3],
        "timed_runs": [30, 30], "pretrained": [pretrained, True], "epochs": [18, 21],
        "training": [[("large_frozen", 12, 12), ("large_finetune", 6, 6)],
                     [("small_frozen", 15, 15), ("small_finetune", 6, 6)]],
    }, index=["MobileNetV3-Large", "MobileNetV3-Small"])


def results(difference=(0.03, 0.11), train_images=3000):
    return compare.TestResults(scores=None, matrices={}, difference=difference, always_nv_accuracy=0.67,
                       test_images=1000, train_images=train_images, confidence=0.95)


def flat(text):
    return " ".join(text.split())


def test_conclusion_takes_every_number_from_the_table():
    text = flat(conclusion(comparison_table(), results()))
    assert "MobileNetV3-Large scores higher" in text and "excludes zero" in text
    for number in ("0.710 [0.660, 0.760]", "0.640 [0.590, 0.690]", "0.620", "0.550", "[+0.030, +0.110]",
                   "217", "56", "3.9x", "4.21M", "1.53M", "12.0 ms", "40.0 ms", "30 timed runs",
                   "11.5-12.5 ms", "38.0-42.0 ms", "1000 images", "(0.670)"):
        assert number in text
    assert "better than always answering nv" in text and "no better" not in text
    assert "Caution" not in text and "rough" not in text and "overlap" not in text


def test_a_difference_is_only_called_one_when_its_interval_excludes_zero():
    text = flat(conclusion(comparison_table(), results(difference=(-0.01, 0.15))))
    assert "cannot be told apart" in text and "includes zero" in text
    assert "scores higher" not in text
    text = flat(conclusion(comparison_table(balanced=(0.60, 0.70)), results(difference=(-0.15, -0.04))))
    assert "MobileNetV3-Small scores higher" in text


def test_a_model_at_chance_is_called_weak_with_its_likely_causes():
    table = comparison_table(pretrained=False, balanced=(1 / 7, 1 / 7))
    table["test_accuracy"], table["test_accuracy_low"], table["pretrained"] = 0.67, 0.64, False
    text = flat(conclusion(table, results(difference=(0.0, 0.0), train_images=35)))
    assert "MobileNetV3-Large is at chance in balanced accuracy" in text
    assert "MobileNetV3-Small is at chance" in text
    assert "Chance, 1/7 = 0.143, is what guessing scores in balanced accuracy, and so does always answering nv" in text
    assert "no better than always answering nv (0.670)" in text
    assert text.count("Likely causes: no ImageNet weights") == 1 and "only 35 training images" in text
    assert "WITHOUT ImageNet weights" in text


def test_an_accuracy_whose_whole_interval_lies_below_always_nv_is_called_worse():
    table = comparison_table()
    table["test_accuracy"], table["test_accuracy_low"], table["test_accuracy_high"] = 0.479, 0.45, 0.51
    text = flat(conclusion(table, results()))
    assert "its accuracy, 0.479, is worse than always answering nv (0.670)" in text
    frame = readable_table(table, results())
    assert frame.loc["test accuracy vs always nv (0.670)"].tolist() == ["worse", "worse"]


def test_the_caution_names_the_models_trained_without_imagenet_weights():
    one = comparison_table(pretrained=False)
    assert "Caution: Large was trained WITHOUT ImageNet weights" in flat(conclusion(one, results()))
    both = comparison_table(pretrained=False).assign(pretrained=False)
    assert "Caution: Both models were trained WITHOUT ImageNet weights" in flat(conclusion(both, results()))


def test_causes_are_named_per_model_when_they_differ():
    table = comparison_table(pretrained=False, balanced=(1 / 7, 0.15))
    text = flat(conclusion(table, results(difference=(-0.05, 0.02))))
    assert "Likely causes for Large: no ImageNet weights" in text
    assert "Likely causes for Small: none of the usual" in text


def test_a_recipe_cut_short_is_named_stage_by_stage_from_the_recorded_epochs():
    table = comparison_table(balanced=(1 / 7, 0.64))
    table.at["MobileNetV3-Large", "training"] = [("large_frozen", 4, 12), ("large_finetune", 2, 6)]
    text = flat(conclusion(table, results(difference=(-0.55, -0.45))))
    assert ("Likely causes: large_frozen trained 4 of the recipe's 12 epochs; large_finetune trained 2 "
            "of the recipe's 6 epochs.") in text
    frame = readable_table(table, results())
    assert frame.loc["epochs trained (recipe)"].tolist() == ["4 + 2 (recipe 12 + 6)", "15 + 6"]


def test_a_model_clearly_above_chance_gets_no_causes():
    text = flat(conclusion(comparison_table(), results()))
    assert "MobileNetV3-Large is above chance" in text and "Likely causes" not in text


def test_a_noisy_latency_is_hedged():
    noisy = comparison_table(latency=((49.0, 40.0, 1400.0), (16.6, 15.0, 53.0)))
    text = flat(conclusion(noisy, results()))
    assert "It took about 16.6 ms vs 49.0 ms" in text and "rough" in text
    overlapping = comparison_table(latency=((14.0, 13.5, 14.5), (13.0, 12.5, 13.6)))
    assert "neither is clearly faster" in flat(conclusion(overlapping, results()))


def test_conclusion_lines_fit_the_notebook_width():
    table = comparison_table(pretrained=False, balanced=(1 / 7, 0.20))
    for line in conclusion(table, results(difference=(-0.1, 0.02), train_images=35)).splitlines():
        assert len(line) <= TEXT_WIDTH, line


def test_paragraphs_are_wrapped_without_breaking_a_hyphenated_name():
    text = wrap_paragraphs("x" * 72 + " melanoma-vs-rest AUC.", None, "", "Second paragraph.")
    assert text == "x" * 72 + "\nmelanoma-vs-rest AUC.\n\nSecond paragraph."


def test_readable_table_has_models_as_columns_and_short_cells():
    frame = readable_table(comparison_table(), results())
    assert list(frame.columns) == ["MobileNetV3-Large", "MobileNetV3-Small"]
    assert frame.loc["test balanced accuracy [95% interval]", "MobileNetV3-Large"] == "0.710 [0.660, 0.760]"
    assert frame.loc["test balanced accuracy vs chance (0.143)", "MobileNetV3-Small"] == "above chance"
    assert frame.loc["test accuracy vs always nv (0.670)", "MobileNetV3-Small"] == "better"
    assert frame.loc["CPU ms per image, median [q1, q3]", "MobileNetV3-Small"] == "12.0 [11.5, 12.5]"
    assert frame.loc["ImageNet weights", "MobileNetV3-Large"] == "yes"
    assert max(len(cell) for cell in frame.to_numpy().ravel()) <= 24
    assert max(len(label) for label in frame.index) <= 48


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
    assert (test.test_images, test.train_images) == (35, 35)
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
    assert (tmp_path / "test_confusion_large_finetune.csv").is_file()
    for stage in FINAL_STAGES.values():
        finished_stage(tmp_path, stage, 1, 4)
    costs = pd.DataFrame({"MFLOPs": [217.0, 56.0]}, index=list(FINAL_STAGES))
    table = summary_table(tmp_path, costs, test)
    assert "test_balanced_accuracy_high" in table and table["epochs"].tolist() == [1, 1]
    assert table["training"].tolist() == [[("large_finetune", 1, 6)], [("small_finetune", 1, 6)]]


def test_evaluate_test_split_gives_the_labels_notebook_6_saves(tmp_path):
    make_finished_stage(tmp_path, "small_finetune")
    model, _ = load_stage_model(tmp_path, "small_finetune")
    y_true, y_pred = compare.evaluate_test_split(model, SAMPLE, 64, torch.device("cpu"))
    saved = compare.stage_predictions(tmp_path, "small_finetune", SAMPLE, "test", torch.device("cpu"))
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
