"""What the worked solutions compute, on hand-worked examples (and one short probe on the sample).

Also that the library never imports skinkit.exercises: the solutions' helpers sit on top of it."""

import ast
import dataclasses
import importlib.util

import numpy as np
import pandas as pd
import pytest
import torch

from skinkit.classes import CLASS_CODES
from skinkit.files import write_json
from skinkit.notebook import Settings
from skinkit.reporting.conclusion import TEXT_WIDTH
from skinkit.training.recipes import RECIPES

from .helpers import ROOT, SAMPLE

pytest.importorskip("skinkit.exercises", reason="a student copy leaves out the worked solutions' helpers")
from skinkit.exercises import comparison, gradcam, training  # noqa: E402 (after the skip)

NV = CLASS_CODES.index("nv")


def history(accuracy, balanced, loss):
    return pd.DataFrame({"epoch": range(1, len(loss) + 1), "train_loss": loss, "val_accuracy": accuracy,
                         "val_balanced_accuracy": balanced})


def test_each_rule_keeps_its_own_epoch():
    rules = training.rule_table(history([0.67, 0.55, 0.60], [1 / 7, 0.30, 0.41], [2.0, 1.5, 1.0]))
    assert rules.loc["accuracy", "kept epoch"] == 1 and rules.loc["balanced_accuracy", "kept epoch"] == 3
    assert rules.loc["accuracy", "val balanced accuracy"] == pytest.approx(1 / 7)


def test_always_nv_scores_its_share_in_accuracy_and_chance_in_balanced_accuracy():
    scores = training.always_nv_scores([36, 60, 102, 15, 97, 670, 20])
    assert scores["accuracy"] == pytest.approx(0.670) and scores["balanced_accuracy"] == pytest.approx(1 / 7)


def test_oversampling_shares_of_the_course_split():
    shares = training.oversampling_shares([112, 148, 343, 36, 253, 2073, 35], [4, 4, 2, 6, 2, 1, 6])
    assert shares["after"].sum() == 4731 and shares["images"].sum() == 3000
    assert shares.at["df", "share grew x"] == pytest.approx((216 / 4731) / (36 / 3000))
    assert shares.at["nv", "share grew x"] < 1  # the majority's share shrinks


def test_loss_shares_with_and_without_weights():
    shares = training.loss_shares([10] * 7, [1] * 7, [1, 1, 1, 1, 1, 1, 4])
    assert shares.at["vasc", "with the weights"] == pytest.approx(4 / 10)
    assert shares.at["vasc", "all weights 1"] == pytest.approx(1 / 7)


def test_relative_change_is_the_norm_of_the_move_over_the_norm_of_the_start():
    start = [torch.tensor([3.0, 0.0]), torch.tensor([4.0])]
    moved = [torch.tensor([3.3, 0.0]), torch.tensor([4.4])]
    assert training.relative_change(iter(start), iter(moved)) == pytest.approx(0.1)


def test_mistake_pairs_count_the_most_confident_wrong_answers():
    table = pd.DataFrame({"true": ["mel", "nv", "mel", "bcc", "nv"], "predicted": ["nv", "mel", "mel", "nv", "nv"],
                          "confidence": [0.9, 0.8, 0.99, 0.7, 0.6]})
    assert gradcam.mistake_pairs(table, 2).to_dict() == {"mel -> nv": 1, "nv -> mel": 1}
    assert gradcam.mistake_pairs(table, 5).sum() == 3


def test_curve_reading_names_the_peak_and_what_the_loss_did_after():
    assert "no curve to read" in training.curve_reading(history([0.5], [0.2], [1.0]))
    overfit = training.curve_reading(history([0.5] * 3, [0.2, 0.4, 0.3], [1.0, 0.8, 0.5]))
    assert "peaked at epoch 2 (0.400)" in overfit and "overfitting" in overfit
    assert "still rising" in training.curve_reading(history([0.5] * 2, [0.2, 0.3], [1.0, 0.9]))


@pytest.mark.parametrize("balanced, loss", [([0.2], [1.0]), ([0.2, 0.4, 0.3], [1.0, 0.8, 0.5]),
                                            ([0.2, 0.4, 0.3], [1.0, 0.8, 0.9]), ([0.2, 0.3], [1.0, 0.9])])
def test_curve_reading_fits_a_notebook_line(balanced, loss):
    text = training.curve_reading(history([0.5] * len(loss), balanced, loss))
    assert max(len(line) for line in text.splitlines()) <= TEXT_WIDTH  # JupyterLab would break it mid-word


def test_interval_table_separates_a_perfect_model_from_always_nv():
    y_true = np.repeat(np.arange(len(CLASS_CODES)), 5)
    table = comparison.interval_table(y_true, {"perfect": y_true, "always nv": np.full(len(y_true), NV)},
                                      [(0.95, 0), (0.5, 1)])
    assert table["difference low"].tolist() == pytest.approx([6 / 7, 6 / 7]) and table["separates"].all()
    assert table["always nv high"].tolist() == pytest.approx([1 / 7, 1 / 7])


def test_the_f1_of_one_class_is_scikit_learns_on_every_resample():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(4)
    y_true, y_pred = rng.integers(0, 7, (6, 40)), rng.integers(0, 7, (6, 40))
    y_pred[0] = (y_true[0] + 1) % 7  # a resample where no class is ever right
    for label in (0, CLASS_CODES.index("mel")):
        expected = [f1_score(t, p, labels=[label], average=None, zero_division=0)[0] for t, p in zip(y_true, y_pred)]
        assert comparison.class_f1(y_true, y_pred, label) == pytest.approx(expected)
    assert comparison.class_f1(np.zeros(5, int), np.zeros(5, int), 3) == 0.0  # neither present nor predicted


def test_the_probe_moves_only_the_head_of_a_frozen_stage_and_farther_at_a_larger_rate(tmp_path):
    write_json(tmp_path / "small_frozen" / "config.json", {"pretrained": False})
    write_json(tmp_path / "small_frozen" / "metrics.json", {})
    (tmp_path / "small_frozen" / "best.pt").write_bytes(b"")
    recipe = dataclasses.replace(RECIPES["small_frozen"], train_batch_size=20)
    settings = Settings(False, SAMPLE, tmp_path, 0, 32, True, recipe)
    probe = training.learning_rate_probe(settings, (1e-4, 1e-2), steps=2, validate=True, device=torch.device("cpu"))
    assert list(probe.index) == [1e-4, 1e-2] and (probe["base moved"] == 0).all()
    assert 0 < probe.at[1e-4, "head moved"] < probe.at[1e-2, "head moved"]
    assert probe.at[1e-4, "step 1 loss"] == pytest.approx(probe.at[1e-2, "step 1 loss"])  # same start, same batch
    assert probe["val balanced accuracy"].between(0, 1).all()


def imported_modules(path):
    """Every module a source file under skinkit/ imports, by absolute name (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)  # `from .. import exercises`


def test_nothing_outside_the_exercises_package_imports_it():
    assert "skinkit.uncertainty.temperature" in set(imported_modules(ROOT / "skinkit" / "exercises" / "trust.py"))
    outside = [path for path in (ROOT / "skinkit").rglob("*.py") if path.relative_to(ROOT).parts[1] != "exercises"]
    importers = [path.relative_to(ROOT).as_posix() for path in outside
                 if any(name.split(".")[:2] == ["skinkit", "exercises"] for name in imported_modules(path))]
    assert len(outside) > 50
    assert importers == []
