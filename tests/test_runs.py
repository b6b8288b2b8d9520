"""Run folders: complete artifacts, same seed -> same matrix, kill-and-resume, reruns, old folders, safe loading."""

import argparse
import dataclasses
import json
import shutil
import signal
import subprocess
import sys
import time
import warnings

import pandas as pd
import pytest
import torch

from skinkit.__main__ import main as skinkit_main
from skinkit.classes import CLASS_CODES
from skinkit.files import atomic_path, read_json, write_json
from skinkit.reporting import stage_reading
from skinkit.reporting.chance import ABOVE_CHANCE
from skinkit.reporting.plots import plot_history
from skinkit.reporting.predictions import read_predictions
from skinkit.training.recipes import RECIPES
from skinkit.training.resume import archive, same_run
from skinkit.training.run_folders import HISTORY_COLUMNS, load_checkpoint
from skinkit.training.stage import StageResult, run_stage

from .helpers import ROOT, SAMPLE

TRAIN_ARGS = ["--stage", "small_frozen", "--data", str(SAMPLE), "--image-size", "64", "--seed", "0",
              "--pretrained", "false", "--num-workers", "1"]


def small_run(runs, epochs=2, select_by="balanced_accuracy", **kwargs):
    recipe = dataclasses.replace(RECIPES["small_frozen"], epochs=epochs, select_by=select_by)
    return run_stage(recipe, SAMPLE, runs, image_size=64, pretrained=False, device="cpu", **kwargs)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The same stage trained twice with the same seed, in two run roots."""
    roots = [tmp_path_factory.mktemp(name) for name in ("first", "second")]
    return [small_run(root) for root in roots]


def test_run_folder_holds_every_artifact(two_runs):
    run_dir = two_runs[0].run_dir
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "best.pt", "config.json", "confusion_matrix.csv", "history.csv", "last.pt", "metrics.json",
        "predictions_val.csv"]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["pretrained"] is False and config["seed"] == 0 and config["lr"] == 1e-3
    assert config["select_by"] == "balanced_accuracy"
    # what the objects trained with: the recipe's loss weights, Adam + StepLR, the head's parameters alone
    assert config["class_weights"] == [3, 3, 2, 5, 3, 1, 6] and config["label_smoothing"] == 0
    schedule = (config["optimizer"], config["scheduler"], config["step_size"], config["gamma"])
    assert schedule == ("Adam", "StepLR", 3, 0.5)
    assert config["trainable_parameters"] == (576 * 1024 + 1024) + (1024 * 7 + 7)  # Linear 576->1024, 1024->7
    assert len(config["data_fingerprint"]) == 64 and config["torch"] == str(torch.__version__)
    assert config["precision"] == "fp32"  # on the CPU (see test_precision for the other devices)
    history = pd.read_csv(run_dir / "history.csv")
    assert list(history.columns) == ["epoch", "train_loss", "val_accuracy", "val_balanced_accuracy",
                                     "val_macro_f1", "lr", "seconds"]
    assert list(history["epoch"]) == [1, 2]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {"accuracy", "balanced_accuracy", "macro_f1", "per_class"} <= set(metrics)
    assert set(metrics["per_class"]) == set(CLASS_CODES)
    confusion = pd.read_csv(run_dir / "confusion_matrix.csv", index_col=0)
    assert list(confusion.index) == list(confusion.columns) == list(CLASS_CODES)
    assert confusion.to_numpy().sum() == 35
    # the validation predictions are saved once, and the matrix is what they give
    predictions = read_predictions(run_dir / "predictions_val.csv")
    assert predictions["file"].tolist() == sorted(p.name for p in (SAMPLE / "val").glob("*.png"))
    recount = pd.crosstab(predictions["true"], predictions["predicted"]).reindex(
        index=CLASS_CODES, columns=CLASS_CODES, fill_value=0)
    assert (recount.to_numpy() == confusion.to_numpy()).all()


def test_same_seed_gives_identical_results_and_passes_grading(two_runs, capsys):
    first, second = (run.run_dir for run in two_runs)
    assert (first / "confusion_matrix.csv").read_bytes() == (second / "confusion_matrix.csv").read_bytes()
    assert two_runs[0].metrics == two_runs[1].metrics
    assert two_runs[0].history["train_loss"].tolist() == two_runs[1].history["train_loss"].tolist()
    assert skinkit_main(["grade", "--reference", str(first), "--submission", str(second)]) == 0
    assert "PASS" in capsys.readouterr().out


def test_checkpoints_load_with_weights_only(two_runs):
    best = load_checkpoint(two_runs[0].run_dir / "best.pt")
    assert best["architecture"] == "small" and best["class_codes"] == list(CLASS_CODES)
    assert best["select_by"] == "balanced_accuracy" and best["epoch"] == two_runs[0].metrics["best_epoch"]


def file_states(run_dir):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(run_dir.iterdir())}


def test_a_rerun_of_a_finished_stage_loads_it_and_touches_no_file(two_runs, capsys):
    run_dir = two_runs[0].run_dir
    before = file_states(run_dir)
    again = small_run(run_dir.parent)
    assert "small_frozen already finished — loaded from" in capsys.readouterr().out
    assert file_states(run_dir) == before
    assert again.metrics == two_runs[0].metrics and again.confusion.equals(two_runs[0].confusion)
    pd.testing.assert_frame_equal(again.history, two_runs[0].history)
    pd.testing.assert_frame_equal(again.table, two_runs[0].table)
    assert stage_reading.summary(again) == stage_reading.summary(two_runs[0])


def test_an_old_run_folder_loads_under_the_reports_rule(two_runs, tmp_path):
    """Folders written before select_by: no select_by in config.json, no balanced accuracy per epoch."""
    old = tmp_path / "small_frozen"
    shutil.copytree(two_runs[0].run_dir, old)
    config = read_json(old / "config.json")
    for key in ("select_by", "optimizer", "scheduler", "label_smoothing", "trainable_parameters"):
        del config[key]
    write_json(old / "config.json", config)
    pd.read_csv(old / "history.csv")[["epoch", "train_loss", "val_accuracy", "lr", "seconds"]].to_csv(
        old / "history.csv", index=False)
    assert same_run(config, {**config, "select_by": "accuracy"})
    assert not same_run(config, {**config, "select_by": "balanced_accuracy"})
    before = file_states(old)
    loaded = small_run(tmp_path, select_by="accuracy")
    assert file_states(old) == before
    assert list(loaded.history.columns) == HISTORY_COLUMNS and loaded.history["val_balanced_accuracy"].isna().all()
    assert stage_reading.reading(loaded)["select_by"] == "accuracy"
    assert plot_history(loaded.history).axes[1].get_legend_handles_labels()[1][0] == "accuracy"


def crafted_result(runs_root, every_image_nv=True, pretrained=False, epochs=1):
    """A finished small_frozen whose 1000 validation images are all called nv (or all right)."""
    run_dir = runs_root / "small_frozen"
    support = [55, 55, 55, 55, 55, 670, 55]
    confusion = pd.DataFrame(0, index=list(CLASS_CODES), columns=list(CLASS_CODES))
    for code, images in zip(CLASS_CODES, support):
        confusion.loc[code, "nv" if every_image_nv else code] = images
    config = {"stage": "small_frozen", "select_by": "balanced_accuracy", "pretrained": pretrained,
              "epochs": epochs, "init_from": None}
    write_json(run_dir / "config.json", config)
    metrics = {"balanced_accuracy": 1 / 7 if every_image_nv else 1.0, "accuracy": 0.67, "best_epoch": 1}
    return StageResult(run_dir, config, None, None, metrics, confusion, None, train_images=35)


def test_the_summary_reads_a_score_against_chance_and_always_nv(monkeypatch, tmp_path):
    monkeypatch.setattr(StageResult, "history", pd.DataFrame({"epoch": [1]}))
    at_chance = stage_reading.reading(crafted_result(tmp_path))
    assert at_chance["balanced_accuracy"] == at_chance["low"] == at_chance["high"] == pytest.approx(1 / 7)
    assert at_chance["always_nv"] == pytest.approx(670 / 1000) and at_chance["reading"] == "at chance"
    assert len(at_chance["causes"]) == 3  # no ImageNet weights, 35 training images, 1 of 15 epochs
    assert len(stage_reading.reading(crafted_result(tmp_path, epochs=15))["causes"]) == 2
    perfect = stage_reading.reading(crafted_result(tmp_path, every_image_nv=False, pretrained=True))
    assert perfect["balanced_accuracy"] == 1.0 and perfect["reading"] == ABOVE_CHANCE and perfect["causes"] == []
    text = stage_reading.summary(crafted_result(tmp_path))
    assert all(len(line) <= 88 for line in text.splitlines())


def test_a_pickled_object_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"payload": argparse.Namespace(command="anything")}, path)  # needs unpickling
    with pytest.raises(ValueError, match="not a readable skinkit checkpoint"):
        load_checkpoint(path)


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "metrics.json"
    write_json(path, {"accuracy": 0.5})
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("{half")
        raise RuntimeError("killed mid-write")
    assert json.loads(path.read_text()) == {"accuracy": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_changed_settings_start_over_and_keep_the_old_run(tmp_path):
    small_run(tmp_path, epochs=1)
    with pytest.warns(UserWarning, match="moved aside to"):
        small_run(tmp_path, epochs=2, seed=1)
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("small_frozen-")]
    assert len(kept) == 1 and (kept[0] / "best.pt").is_file()
    assert json.loads((tmp_path / "small_frozen" / "config.json").read_text())["seed"] == 1


def test_moving_a_run_aside_shows_one_plain_line_not_a_warning_block(tmp_path, monkeypatch):
    """In a notebook a raw warning shows its file path and source line, like a traceback."""
    (tmp_path / "small_frozen").mkdir()
    printed = []  # what Python's default showwarning writes to stderr: formatwarning's text
    monkeypatch.setattr(warnings, "showwarning", lambda message, category, filename, lineno, file=None, line=None:
                        printed.append(warnings.formatwarning(message, category, filename, lineno, line)))
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        archive(tmp_path / "small_frozen")
    shown = "".join(printed).splitlines()
    moved = next(tmp_path.glob("small_frozen-*")).name
    assert shown == [f"{tmp_path / 'small_frozen'} held a run with other settings; it was moved aside to {moved} "
                     "(nothing is deleted)."]


def train_command(runs, epochs):
    return [sys.executable, "-m", "skinkit", "train", *TRAIN_ARGS, "--runs", str(runs), "--epochs", str(epochs),
            "--select-by", "accuracy"]


def epochs_done(run_dir):
    history = run_dir / "history.csv"
    return len(pd.read_csv(history)) if history.is_file() else 0


def kill_after_first_epoch(command, run_dir, timeout=900):
    """Start training, SIGKILL it once an epoch is checkpointed; return how many epochs it finished."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while epochs_done(run_dir) < 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return epochs_done(run_dir)


def test_killed_run_resumes_to_the_same_result(tmp_path):
    epochs = 4  # the learning rate halves after epoch 3 (step_size), so the resumed scheduler is checked too
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    # the uninterrupted run trains beside the one that is killed (two cores: half the wall time)
    uninterrupted = subprocess.Popen(train_command(straight, epochs), cwd=ROOT, stdout=subprocess.DEVNULL)
    done = kill_after_first_epoch(train_command(resumed, epochs), resumed / "small_frozen")
    assert uninterrupted.wait(timeout=900) == 0
    assert 1 <= done < epochs, "the run should have been killed part-way"
    assert not (resumed / "small_frozen" / "metrics.json").exists()
    finished = subprocess.run(train_command(resumed, epochs), cwd=ROOT, check=True, capture_output=True, text=True)
    # it says that it continues, from which file and after which epoch
    said = [line for line in finished.stdout.splitlines() if str(resumed / "small_frozen" / "last.pt") in line]
    assert len(said) == 1 and f" {done} of {epochs} " in said[0]
    a, b = straight / "small_frozen", resumed / "small_frozen"
    assert (a / "confusion_matrix.csv").read_bytes() == (b / "confusion_matrix.csv").read_bytes()
    assert json.loads((a / "metrics.json").read_text()) == json.loads((b / "metrics.json").read_text())
    columns = ["epoch", "train_loss", "val_accuracy", "val_balanced_accuracy", "val_macro_f1", "lr"]
    pd.testing.assert_frame_equal(pd.read_csv(a / "history.csv")[columns], pd.read_csv(b / "history.csv")[columns])
    assert read_json(b / "config.json")["select_by"] == "accuracy"
    assert load_checkpoint(b / "best.pt")["select_by"] == "accuracy"


def test_learning_curves_of_one_epoch_have_integer_ticks_and_chance_marked():
    history = pd.DataFrame({"epoch": [1], "train_loss": [1.9], "val_accuracy": [0.67],
                            "val_balanced_accuracy": [1 / 7]})
    loss_ax, score_ax = plot_history(history).axes
    for ax in (loss_ax, score_ax):
        ticks = [tick for tick in ax.get_xticks() if ax.get_xlim()[0] <= tick <= ax.get_xlim()[1]]
        assert ticks == [1.0]
    assert score_ax.get_legend_handles_labels()[1] == ["accuracy", "balanced accuracy", "chance (balanced) 0.143"]
