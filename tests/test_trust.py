"""Notebook 08's library: saved predictions, intervals, subgroups, the lines a run can make misleading,
trust.json, and the worked solutions' helpers, checked against scikit-learn, scipy and hand-worked cases."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta
from sklearn.metrics import balanced_accuracy_score

from skinkit.classes import CLASS_CODES
from skinkit.exercises import trust as exercises
from skinkit.reporting import stage_predictions as saved
from skinkit.reporting import trust
from skinkit.reporting.comparison import FINAL_STAGES
from skinkit.uncertainty import temperature

from .helpers import SAMPLE
from .run_fixtures import make_finished_stage, simulated_probabilities, write_simulated_predictions


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Both final stages with simulated predictions on the sample."""
    root = tmp_path_factory.mktemp("runs")
    for number, stage in enumerate(FINAL_STAGES.values()):
        run_dir = make_finished_stage(root, stage, seed=number)
        for split in ("val", "test"):
            write_simulated_predictions(run_dir, split, SAMPLE, skill=2.5, sharpness=2.0 + number,
                                        seed=10 * number + (split == "test"))
    return root


def test_final_predictions_read_the_saved_files_and_predict_nothing(runs, monkeypatch):
    monkeypatch.setattr(saved, "predict_split", lambda *args: pytest.fail("predicted the same images twice"))
    stages = trust.final_predictions(runs, SAMPLE)
    assert list(stages) == list(FINAL_STAGES)
    small = stages["MobileNetV3-Small"]
    table = pd.read_csv(runs / "small_finetune" / "predictions_test.csv")
    assert np.allclose(small.p_test, table[[f"p_{c}" for c in CLASS_CODES]].to_numpy())
    assert (small.y_test == table["true"].map(CLASS_CODES.index)).all() and small.pretrained is False


def test_the_proportion_interval_is_clopper_pearsons():
    interval = trust.proportion_interval(45, 50, 0.95)
    assert interval["low"] == pytest.approx(beta.ppf(0.025, 45, 6))
    assert interval["high"] == pytest.approx(beta.ppf(0.975, 46, 5))
    assert trust.proportion_interval(50, 50)["high"] == 1.0
    assert all(math.isnan(v) for v in trust.proportion_interval(0, 0).values())


def test_balanced_accuracy_with_interval_is_scikit_learns():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 7, 300), rng.integers(0, 7, 300)
    y_pred[:150] = y_true[:150]
    score = trust.balanced_accuracy_with_interval(y_true, y_pred)
    assert score["balanced accuracy"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert score["low"] < score["balanced accuracy"] < score["high"]
    assert math.isnan(trust.balanced_accuracy_with_interval(y_true[:0], y_pred[:0])["low"])


def test_patient_metadata_bands_ages_and_leaves_unknown_out(tmp_path):
    pd.DataFrame({"file": list("abcde"), "age": ["25", "30", "59", "60", ""], "sex": ["female", "male", "unknown",
                                                                                  "male", "female"],
                  "localization": ["back", "face", "back", "unknown", "trunk"]}).to_csv(tmp_path / "manifest.csv",
                                                                                       index=False)
    table = trust.patient_metadata(tmp_path)
    assert table["age band"].tolist()[:4] == ["under 30", "30-59", "30-59", "60 and over"]
    assert pd.isna(table["age band"].iat[4])
    assert table["sex"].isna().tolist() == [False, False, True, False, False]
    assert table["body site"].isna().tolist() == [False, False, False, True, False]
    (tmp_path / "manifest.csv").write_text("file,image_id,lesion_id,dx,label,split\n1_x.png,x,l,akiec,0,test\n")
    assert trust.patient_metadata(tmp_path) is None and trust.patient_metadata(tmp_path / "none") is None


def test_a_small_group_is_not_scored_and_a_big_one_as_scikit_learn():
    rng = np.random.default_rng(1)
    codes = np.array(CLASS_CODES)
    rows = pd.DataFrame({"true": codes[rng.integers(0, 7, 40)], "predicted": codes[rng.integers(0, 7, 40)]})
    scored = trust.group_score(rows, 30)
    assert scored["n"] == 40 and scored["balanced accuracy"] == pytest.approx(
        balanced_accuracy_score(rows["true"], rows["predicted"]))
    small = trust.group_score(rows.head(10), 30)
    assert small["n"] == 10 and math.isnan(small["balanced accuracy"]) and small["note"] == trust.TOO_FEW


def test_only_groups_whose_intervals_do_not_overlap_are_named():
    rows = pd.DataFrame({"model": "Small", "attribute": "sex", "group": ["female", "male"], "low": [0.2, 0.5],
                         "high": [0.4, 0.7]})
    assert trust.separated_groups(rows) == ["Small, sex: female below male"]
    assert trust.separated_groups(rows.assign(high=[0.6, 0.7])) == []


@pytest.mark.parametrize("low, high, missed", [(0.6, 0.8, True), (0.8, 0.95, False), (0.91, 0.99, False)])
def test_a_target_is_called_missed_only_when_the_whole_interval_lies_below_it(low, high, missed):
    assert bool(trust.missed_target("Small", low, high, 0.9)) == missed


def paragraphs(text):
    """The paragraphs of a printed text, each on one line."""
    return [" ".join(paragraph.split()) for paragraph in text.split("\n\n")]


def test_cautions_name_random_weights_and_a_model_at_chance(runs):
    stages = trust.final_predictions(runs, SAMPLE)
    lines = paragraphs(trust.cautions(stages))
    assert sum("random weights" in line for line in lines) == 2  # both simulated stages: pretrained false
    small = stages["MobileNetV3-Small"]
    small.p_test = np.tile(np.eye(7)[CLASS_CODES.index("nv")], (len(small.y_test), 1))  # always nv
    assert any(line.startswith("MobileNetV3-Small is at chance") for line in paragraphs(trust.cautions(stages)))
    assert max(map(len, trust.cautions(stages).splitlines())) <= 88  # wrapped to a notebook panel


def test_save_trust_writes_null_for_nan_and_the_subgroup_table(tmp_path):
    summary = {"small_finetune": {"temperature": 1.5, "referral": {"low": math.nan},
                                  "conformal": {"alpha": 0.1, "threshold": 0.8, "coverage_test": 0.9,
                                                "mean_set_size_test": 2.0}}}
    groups = pd.DataFrame({"model": ["Small"], "n": [3]})
    paths = trust.save_trust(summary, groups, tmp_path / "trust")
    assert [p.name for p in paths] == ["trust.json", "subgroups.csv"]
    assert json.loads(paths[0].read_text())["small_finetune"]["referral"] == {"low": None}
    assert [p.name for p in trust.save_trust(summary, None, tmp_path / "other")] == ["trust.json"]


# --- the worked solutions' helpers ---------------------------------------------------------------------

def test_vector_scaling_fits_the_validation_likelihood_at_least_as_well_as_one_temperature():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 7, 600)
    p = simulated_probabilities(y, skill=2.0, sharpness=3.0, seed=4)
    p[:, 0] *= 3  # a bias towards one class that a single temperature cannot remove
    p /= p.sum(axis=1, keepdims=True)

    def nll(q):
        return -np.log(q[np.arange(len(y)), y]).mean()

    weights, bias = exercises.fit_vector_scaling(p, y)
    vector = exercises.vector_scaled(p, weights, bias)
    assert nll(vector) < nll(temperature.scaled(p, temperature.fit_temperature(p, y))) < nll(p)


def test_hand_worked_aps_scores_and_threshold():
    p = np.array([[0.5, 0.3, 0.2, 0, 0, 0, 0]])
    assert exercises.aps_class_scores(p)[0, :3].tolist() == pytest.approx([0.5, 0.8, 1.0])
    # three images whose true classes score 0.5, 0.8 and 1.0; alpha 0.5: rank ceil(4 x 0.5) = 2 -> 0.8
    calibration = np.repeat(p, 3, axis=0)
    assert exercises.aps_threshold(calibration, np.array([0, 1, 2]), 0.5) == pytest.approx(0.8)
