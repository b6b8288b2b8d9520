"""Plumbing of `skinkit bench` at tiny sizes: result structure only, never a timing or speed-up value."""

import json
import math
from pathlib import Path

import pytest
import torch

import skinkit
from skinkit.__main__ import main
from skinkit.bench import cli, pipeline, steps, timing
from skinkit.bench import report as bench_report
from skinkit.data.dataset import SkinLesionDataset

SAMPLE = Path(skinkit.__file__).parents[1] / "data" / "sample"
CPU = torch.device("cpu")
STAGES = {"large_frozen", "large_full", "small_frozen", "small_full"}


def positive_finite(value):
    return isinstance(value, float) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def train_set():
    return SkinLesionDataset(SAMPLE / "train")


def test_default_data_root_is_the_bundled_sample():
    assert (cli.default_data_root() / "train").is_dir()


def test_alternate_runs_each_variant_in_turn_at_least_once():
    calls = []
    runs = {"a": lambda: calls.append("a") or 1, "b": lambda: calls.append("b") or 1}
    timings = timing.alternate(runs, CPU, rounds=3, budget_s=0.0)
    assert calls == ["a", "b"]
    assert set(timings) == {"a", "b"} and all(len(t) == 1 for t in timings.values())
    timing.alternate(runs, CPU, rounds=2)
    assert calls == ["a", "b", "a", "b", "a", "b"]


def test_report_and_kit_pipelines_yield_the_same_batch_shape(train_set):
    report, kit = pipeline.pipeline_loaders(train_set, timing.QUICK, CPU)
    (report_images, report_labels), (kit_images, kit_labels) = next(iter(report)), next(iter(kit))
    assert report_images.shape == kit_images.shape == (timing.QUICK.batch_size, 3, 32, 32)
    assert report_images.dtype == kit_images.dtype == torch.float32
    assert len(report_labels) == len(kit_labels) == timing.QUICK.batch_size


def test_a_dead_plain_step_process_is_reported():
    plain = steps.PlainStepProcess(timing.QUICK, CPU)
    plain.process.kill()
    plain.process.join()
    with pytest.raises(RuntimeError, match="plain training step died"):
        plain.prepare("small_frozen")


def test_goal_checks_compare_with_the_goals():
    report = {"pipeline_speedup": 6.0, "epoch_overhead": 1.2,
              "train_speedup": {"large_frozen": 2.0, "large_full": 1.2, "small_frozen": 2.0, "small_full": 2.0}}
    met = {name.split(" (")[0]: ok for name, _, _, ok in bench_report.goal_checks(report)}
    assert met == {"pipeline_speedup": True, "train_speedup mean": True, "train_speedup min": False,
                   "epoch_overhead": False}


def test_quick_json_run_ends_with_the_results(capsys):
    assert main(["bench", "--quick", "--json", "--data", str(SAMPLE), "--device", "cpu"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert positive_finite(report["pipeline_speedup"]) and positive_finite(report["epoch_overhead"])
    assert set(report["train_speedup"]) == set(report["train_img_per_s"]) == STAGES
    assert all(positive_finite(v) for v in report["train_speedup"].values())
    assert all(positive_finite(report["train_img_per_s"][s][v]) for s in STAGES for v in ("kit", "plain"))
    assert all(positive_finite(report["pipeline_img_per_s"][v]) for v in ("kit", "report"))
    assert set(report["epoch_seconds_by_workers"]) == {"0", "1", "2"}
    assert all(positive_finite(s) for s in report["epoch_seconds_by_workers"].values())
    assert all(isinstance(goal["met"], bool) for goal in report["goals"].values())


def test_missing_data_is_reported(tmp_path, capsys):
    assert main(["bench", "--quick", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bench: ") and "train/" in err and len(err.strip().splitlines()) == 1
