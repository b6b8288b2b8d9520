"""Notebook 8's analysis checked against independent computations: scikit-learn, direct binning, a
grid search of the likelihood, and small hand-worked examples."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.special import softmax
from sklearn.metrics import balanced_accuracy_score, recall_score, roc_auc_score

from skinkit.classes import CLASS_CODES
from skinkit.exercises.trust import analyses_by_setting, changes_between, interval_widths, referral_rows, screening_rows
from skinkit.reporting import calibration, melanoma, referral, subgroups, trust
from skinkit.reporting import stage_predictions as saved
from skinkit.reporting import trust_conclusion as words
from skinkit.reporting.chance import chance_reading
from skinkit.reporting.comparison import FINAL_STAGES
from skinkit.reporting.intervals import bootstrap_interval, stratified_resamples

from .helpers import SAMPLE
from .run_fixtures import make_finished_stage, simulated_probabilities, write_simulated_predictions

MEL = CLASS_CODES.index("mel")


def direct_ece(probabilities, y_true, bins=15):
    """ECE as Guo et al. define it, bin by bin: sum over bins of |acc - conf| x share of images."""
    confidence, correct = probabilities.max(axis=1), probabilities.argmax(axis=1) == y_true
    total = 0.0
    for low, high in zip(np.linspace(0, 1, bins + 1)[:-1], np.linspace(0, 1, bins + 1)[1:]):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return total


def nll_by_grid(probabilities, y_true, temperatures):
    """Negative log-likelihood per temperature, by torch's cross-entropy on log p / T."""
    logits = torch.log(torch.tensor(probabilities).clamp_min(1e-38))
    target = torch.tensor(y_true)
    return np.array([float(torch.nn.functional.cross_entropy(logits / t, target)) for t in temperatures])


@pytest.fixture(scope="module")
def overconfident():
    """Validation and test labels with probabilities of an over-confident model (logits x 3)."""
    rng = np.random.default_rng(5)
    y_val, y_test = rng.integers(0, 7, 800), rng.integers(0, 7, 800)
    return (y_val, simulated_probabilities(y_val, skill=2.0, sharpness=3.0, seed=1),
            y_test, simulated_probabilities(y_test, skill=2.0, sharpness=3.0, seed=2))


# --- calibration -----------------------------------------------------------------------------------------

def test_ece_from_torchmetrics_equals_a_direct_computation(overconfident):
    y_val, p_val, y_test, p_test = overconfident
    for y, p in ((y_val, p_val), (y_test, p_test), (y_test, softmax(np.log(p_test) / 2.5, axis=1))):
        assert calibration.expected_calibration_error(p, y) == pytest.approx(direct_ece(p, y), abs=1e-6)


def test_a_hand_worked_ece():
    # two images at confidence 0.9 (one right), two at 0.5 (both right): |0.5-0.9|/2 + |1-0.5|/2 = 0.45
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.5, 0.5], [0.5, 0.5]])
    p = np.pad(p, ((0, 0), (0, 5)))
    assert calibration.expected_calibration_error(p, np.array([0, 1, 0, 0])) == pytest.approx(0.45)


def test_the_temperature_minimises_the_validation_likelihood(overconfident):
    y_val, p_val, _, _ = overconfident
    temperature = calibration.fit_temperature(p_val, y_val)
    grid = np.linspace(0.5, 6, 1101)
    assert temperature == pytest.approx(grid[nll_by_grid(p_val, y_val, grid).argmin()], abs=0.01)
    assert temperature > 1.5  # the simulated model is over-confident


def test_temperature_scaling_lowers_test_ece_and_never_changes_a_prediction(overconfident):
    y_val, p_val, y_test, p_test = overconfident
    scaled = calibration.temperature_scaled(p_test, calibration.fit_temperature(p_val, y_val))
    assert (scaled.argmax(axis=1) == p_test.argmax(axis=1)).all()
    assert np.allclose(scaled.sum(axis=1), 1)
    assert direct_ece(scaled, y_test) < direct_ece(p_test, y_test) / 2


def test_reliability_table_counts_every_image_once(overconfident):
    _, _, y_test, p_test = overconfident
    table = calibration.reliability_table(p_test, y_test)
    assert len(table) == 15 and table["count"].sum() == len(y_test)
    top = p_test.max(axis=1) >= 14 / 15
    assert table["count"].iat[14] == top.sum()
    assert table["accuracy"].iat[14] == pytest.approx((p_test.argmax(axis=1) == y_test)[top].mean())


# --- referral ---------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_referral_curve_scores_the_most_confident_cases_as_scikit_learn(overconfident):
    _, _, y_test, p_test = overconfident
    curve = referral.referral_curve(y_test, p_test)
    assert curve["referred_fraction"].tolist() == pytest.approx([n / 20 for n in range(11)])
    y_pred, order = p_test.argmax(axis=1), np.argsort(-p_test.max(axis=1))
    for row in curve.itertuples():
        kept = order[: len(order) - round(row.referred_fraction * len(order))]
        assert row.balanced_accuracy == pytest.approx(balanced_accuracy_score(y_test[kept], y_pred[kept]))
        mel = kept[y_test[kept] == MEL]
        assert row.mel_recall == pytest.approx((y_pred[mel] == MEL).mean())
    assert curve["balanced_accuracy"].iat[-1] > curve["balanced_accuracy"].iat[0]  # confidence means something


def test_the_validation_threshold_refers_the_asked_share_there(overconfident):
    y_val, p_val, y_test, p_test = overconfident
    threshold = referral.referral_threshold(p_val, 0.2)
    assert (p_val.max(axis=1) < threshold).mean() == pytest.approx(0.2, abs=0.002)
    result = referral.referral_result(y_test, p_test, threshold)
    kept = p_test.max(axis=1) >= threshold
    assert result["referred"] == (~kept).sum() and result["images"] == len(y_test)
    y_pred = p_test.argmax(axis=1)
    assert result["balanced_accuracy_kept"] == pytest.approx(balanced_accuracy_score(y_test[kept], y_pred[kept]))
    assert result["balanced_accuracy_kept_low"] <= result["balanced_accuracy_kept"] <= \
        result["balanced_accuracy_kept_high"]
    assert result["gain_low"] > 0  # this model's confidence is informative: referral helps


# --- melanoma ---------------------------------------------------------------------------------------------

def test_melanoma_auc_and_operating_point(overconfident):
    y_val, p_val, y_test, p_test = overconfident
    assert melanoma.melanoma_roc(y_test, p_test)[2] == pytest.approx(roc_auc_score(y_test == MEL, p_test[:, MEL]))
    threshold = melanoma.screening_threshold(y_val, p_val, 0.9)
    flagged = p_val[:, MEL] >= threshold
    assert recall_score(y_val == MEL, flagged) >= 0.9
    # the strictest such threshold: the next melanoma score above it misses the target
    above = np.sort(p_val[y_val == MEL, MEL])
    higher = above[above > threshold][0]
    assert recall_score(y_val == MEL, p_val[:, MEL] >= higher) < 0.9
    result = melanoma.screening_result(y_test, p_test, threshold)
    test_flagged = p_test[:, MEL] >= threshold
    assert result["sensitivity"] == pytest.approx(recall_score(y_test == MEL, test_flagged))
    assert result["specificity"] == pytest.approx(recall_score(y_test != MEL, ~test_flagged))


def test_the_auc_of_every_resample_is_scikit_learns(overconfident):
    _, _, y_test, p_test = overconfident
    scores = np.round(p_test[:, MEL], 2)  # rounded: ties, which count one half
    index = stratified_resamples(y_test, 200, seed=0)
    expected = [roc_auc_score(y_test[rows] == MEL, scores[rows]) for rows in index]
    assert np.allclose(melanoma.melanoma_auc(y_test[index], scores[index]), expected)
    low, high = bootstrap_interval(melanoma.melanoma_auc, y_test, scores, resamples=200, seed=0)
    assert (low, high) == pytest.approx(tuple(np.percentile(expected, [2.5, 97.5])))


def test_hand_worked_aucs():
    y_true = np.array([MEL, MEL, 0, 0, 0])
    assert melanoma.melanoma_auc(y_true, np.array([0.9, 0.8, 0.1, 0.2, 0.3])) == 1.0
    assert melanoma.melanoma_auc(y_true, np.array([0.1, 0.2, 0.3, 0.8, 0.9])) == 0.0
    assert melanoma.melanoma_auc(y_true, np.full(5, 0.4)) == 0.5  # every pair tied
    assert melanoma.melanoma_auc(y_true, np.array([0.9, 0.2, 0.1, 0.2, 0.3])) == pytest.approx(4.5 / 6)


def test_the_screening_result_holds_the_auc_inside_its_interval(overconfident):
    y_val, p_val, y_test, p_test = overconfident
    result = melanoma.screening_result(y_test, p_test, melanoma.screening_threshold(y_val, p_val))
    assert result["mel_auc"] == pytest.approx(roc_auc_score(y_test == MEL, p_test[:, MEL]))
    assert result["mel_auc_low"] < result["mel_auc"] < result["mel_auc_high"]


# --- subgroups --------------------------------------------------------------------------------------------

def metadata_table(rows):
    return pd.DataFrame(rows, columns=["file", "age", "sex", "localization"]).set_index("file")


def test_groups_by_sex_age_band_and_largest_body_sites():
    metadata = metadata_table([("a", "25", "female", "back"), ("b", "30", "male", "back"),
                               ("c", "59", "male", "face"), ("d", "60", "unknown", "unknown"),
                               ("e", None, "female", "unknown"), ("f", "85", "male", "back")])
    groups = subgroups.patient_groups(metadata, list("abcdef"), body_sites=2)
    files = np.array(list("abcdef"))
    named = {key: "".join(files[mask]) for key, mask in groups.items()}
    assert named == {("sex", "female"): "ae", ("sex", "male"): "bcf", ("age", "under 30"): "a",
                     ("age", "30-59"): "bc", ("age", "60 and over"): "df", ("body site", "back"): "abf",
                     ("body site", "face"): "c"}


def test_a_group_below_the_minimum_is_not_scored_and_a_big_one_is_scored_as_scikit_learn():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 7, 60), rng.integers(0, 7, 60)
    files = [f"{n}.png" for n in range(60)]
    metadata = metadata_table([(f, "45", "female" if n < 40 else "male", "back") for n, f in enumerate(files)])
    table = subgroups.subgroup_table("small_finetune", files, y_true, y_pred, metadata, min_images=30)
    female, male = (table[(table["attribute"] == "sex") & (table["group"] == g)].iloc[0] for g in ("female", "male"))
    assert female["n"] == 40 and female["balanced_accuracy"] == pytest.approx(
        balanced_accuracy_score(y_true[:40], y_pred[:40]))
    assert female["low"] <= female["balanced_accuracy"] <= female["high"]
    assert female["mel_recall"] == pytest.approx((y_pred[:40][y_true[:40] == MEL] == MEL).mean())
    assert male["n"] == 20 and np.isnan(male["balanced_accuracy"]) and np.isnan(male["low"])
    assert words.subgroup_cells(male)[0] == "too few images"


def test_a_manifest_without_patient_metadata_skips_subgroups_with_one_line(tmp_path):
    (tmp_path / "manifest.csv").write_text("file,image_id,lesion_id,dx,label,split\n1_x.png,x,l,akiec,0,test\n")
    assert subgroups.patient_metadata(tmp_path) is None and subgroups.patient_metadata(tmp_path / "no") is None
    assert trust.subgroup_results({}, tmp_path) is None
    line = trust.describe_groups(None)
    assert "\n" not in line and "has no age, sex or body site: the subgroup part is skipped" in line


# --- the whole analysis, from saved predictions, against an independent computation ---------------------------

@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """Both final stages with simulated predictions on the sample; the analysis and its saved files."""
    runs = tmp_path_factory.mktemp("runs")
    for number, stage in enumerate(FINAL_STAGES.values()):
        run_dir = make_finished_stage(runs, stage, seed=number)
        for split in ("val", "test"):
            write_simulated_predictions(run_dir, split, SAMPLE, skill=2.5, sharpness=2.0 + number,
                                        seed=10 * number + (split == "test"))
    results = trust.analyse_final_models(runs, SAMPLE)
    groups = trust.subgroup_results(results, SAMPLE, min_images=15)
    return runs, results, groups, trust.save_trust(results, groups, runs / "trust")


def test_trust_json_equals_an_independent_computation_from_the_saved_predictions(analysed):
    runs, _, _, saved_files = analysed
    summary = json.loads(saved_files["trust.json"].read_text())
    assert sorted(summary) == ["large_finetune", "small_finetune"]
    for stage, numbers in summary.items():
        test, val = (pd.read_csv(runs / stage / f"predictions_{split}.csv") for split in ("test", "val"))
        columns = [f"p_{code}" for code in CLASS_CODES]
        p_test, p_val = test[columns].to_numpy(), val[columns].to_numpy()
        y_test, y_val = (t["true"].map(CLASS_CODES.index).to_numpy() for t in (test, val))
        assert numbers["ece_test_before"] == pytest.approx(direct_ece(p_test, y_test), abs=1e-4)
        scaled = softmax(np.log(p_test) / numbers["temperature"], axis=1)
        assert numbers["ece_test_after"] == pytest.approx(direct_ece(scaled, y_test), abs=1e-4)
        assert numbers["mel_auc_test"] == pytest.approx(roc_auc_score(y_test == MEL, p_test[:, MEL]), abs=1e-4)
        grid = np.linspace(0.3, 8, 1541)
        assert numbers["temperature"] == pytest.approx(grid[nll_by_grid(p_val, y_val, grid).argmin()], abs=0.01)
        for key in ("mel_sensitivity_test", "mel_specificity_test", "referred_fraction_test",
                    "balanced_accuracy_kept_test"):
            assert 0 <= numbers[key] <= 1


def test_saved_files_and_subgroup_csv(analysed):
    runs, results, groups, saved_files = analysed
    assert sorted(saved_files) == ["melanoma_roc.png", "referral.png", "reliability.png", "subgroups.csv",
                                   "trust.json"]
    assert all(path.parent == runs / "trust" and path.stat().st_size > 0 for path in saved_files.values())
    table = pd.read_csv(saved_files["subgroups.csv"])
    assert table.columns.tolist() == ["stage", "attribute", "group", "n", "balanced_accuracy", "low", "high",
                                      "mel_recall"]
    assert set(table["stage"]) == set(FINAL_STAGES.values())
    sex = table[(table["attribute"] == "sex") & (table["stage"] == "small_finetune")].set_index("group")["n"]
    manifest = pd.read_csv(SAMPLE / "manifest.csv")
    assert sex.to_dict() == manifest[manifest["split"] == "test"]["sex"].value_counts().to_dict()


def test_the_analysis_reads_the_saved_predictions_and_predicts_nothing(analysed, monkeypatch):
    runs = analysed[0]
    monkeypatch.setattr(saved, "predict_split", lambda *args: pytest.fail("predicted the same images twice"))
    again = trust.analyse_final_models(runs, SAMPLE)
    assert {name: each.ece_before for name, each in again.items()} == {
        name: each.ece_before for name, each in analysed[1].items()}


def test_figures_say_the_split_and_the_random_weights(analysed):
    results = analysed[1]
    from skinkit.reporting import trust_plots
    for plot in (trust_plots.plot_reliability, trust_plots.plot_referral, trust_plots.plot_melanoma_roc):
        figure = plot(results)
        titles = " ".join([figure._suptitle.get_text() if figure._suptitle else ""] +
                          [ax.get_title() for ax in figure.axes])
        assert "test split, 35 images" in titles and "RANDOM weights" in titles, plot.__name__


# --- the conclusion: computed, and saying what may not be claimed ---------------------------------------------

def test_the_conclusion_follows_the_numbers(analysed):
    _, results, groups, _ = analysed
    text = words.conclusion(results, groups, 15)
    assert all(len(line) <= 88 for line in text.splitlines())
    flat = " ".join(text.split())
    for each in results.values():
        assert f"{each.ece_before:.3f} -> {each.ece_after:.3f}" in flat
        assert f"AUC {each.screening['mel_auc']:.3f}" in flat
    assert "started from random weights" in flat and "You may not claim" in flat
    assert "no age, sex or body site" in " ".join(words.conclusion(results, None, 15).split())
    for each in results.values():
        each.pretrained = True
    try:
        assert "random weights" not in " ".join(words.conclusion(results, groups, 15).split())
    finally:
        for each in results.values():
            each.pretrained = False


def test_a_model_at_chance_is_flagged_before_its_calibration_numbers(analysed):
    _, results, groups, _ = analysed
    large, small = results["MobileNetV3-Large"], results["MobileNetV3-Small"]
    saved = large.balanced_accuracy, small.balanced_accuracy
    try:
        large.balanced_accuracy = (1 / 7, 1 / 7, 1 / 7, chance_reading(1 / 7, 1 / 7, 1 / 7))
        small.balanced_accuracy = (0.6, 0.5, 0.7, chance_reading(0.6, 0.5, 0.7))
        calibration = " ".join(words.conclusion(results, groups, 15).split("\n\n")[0].split())
        assert calibration.index("Large is at chance on the test split, so read its calibration") \
            < calibration.index(f"{large.ece_before:.3f} -> {large.ece_after:.3f}")
        large.balanced_accuracy = small.balanced_accuracy
        assert "mean little" not in words.conclusion(results, groups, 15)
    finally:
        large.balanced_accuracy, small.balanced_accuracy = saved


@pytest.mark.parametrize("low, high, reading", [(0.01, 0.2, "excludes zero: on these test images referral helped"),
                                                (-0.05, 0.1, "includes zero: a gain is not shown"),
                                                (-0.2, -0.01, "below zero")])
def test_a_referral_gain_is_claimed_only_when_its_interval_excludes_zero(low, high, reading):
    assert reading in words.gain_reading(low, high, "95%")


def test_groups_whose_intervals_do_not_overlap_are_named_and_overlapping_ones_are_not():
    rows = pd.DataFrame({"stage": "s", "attribute": "sex", "group": ["female", "male"],
                         "low": [0.2, 0.5], "high": [0.4, 0.7]})
    assert words.separated_groups(rows, {"s": "Small"}) == ["for Small, female < male (sex)"]
    assert words.separated_groups(rows.assign(high=[0.6, 0.7]), {"s": "Small"}) == []


def test_groups_of_a_model_at_chance_are_not_compared(analysed):
    _, results, groups, _ = analysed
    small = results["MobileNetV3-Small"]
    rows = groups.assign(low=groups["balanced_accuracy"], high=groups["balanced_accuracy"])  # zero-width
    rows.loc[rows["group"] == "male", ["balanced_accuracy", "low", "high"]] = 0.5
    saved_score = small.balanced_accuracy
    try:
        compared = " ".join(words.subgroup_sentences(rows, results, 15).split())
        assert "for Small," in compared and "not compared" not in compared
        assert "Large's and Small's balanced-accuracy intervals" in compared
        small.balanced_accuracy = (1 / 7, 1 / 7, 1 / 7, "at chance")
        at_chance = " ".join(words.subgroup_sentences(rows, results, 15).split())
        assert "Small is at chance overall" in at_chance and "for Small," not in at_chance
        # the widths that follow are those of the model still compared, and say so
        assert "Large's balanced-accuracy intervals" in at_chance and "Small's" not in at_chance
        small.balanced_accuracy = (0.2, 0.13, 0.27, "not clearly above chance")
        assert "Small is not clearly above chance overall" in " ".join(
            words.subgroup_sentences(rows, results, 15).split())
    finally:
        small.balanced_accuracy = saved_score


def screening(sensitivity, low, high):
    """A screening result with the numbers melanoma_sentence reads."""
    return {"sensitivity": sensitivity, "sensitivity_low": low, "sensitivity_high": high}


def screened(y_true, probabilities):
    """What melanoma_sentence reads of one model: its screening, chance reading and test predictions."""
    from types import SimpleNamespace

    from skinkit.reporting.chance import read_against_chance
    predicted = probabilities.argmax(axis=1)
    screening = melanoma.screening_result(y_true, probabilities, melanoma.screening_threshold(y_true, probabilities))
    return SimpleNamespace(screening={**screening, "sensitivity_target": 0.9},
                           vs_chance=read_against_chance(y_true, predicted)[3],
                           test=pd.DataFrame({"predicted": [CLASS_CODES[label] for label in predicted]}))


def test_a_model_at_chance_whose_auc_interval_lies_above_one_half_is_said_to_rank_melanomas():
    y_true = np.repeat(np.arange(7), 30)
    rng = np.random.default_rng(0)
    p_mel = 0.1 + 0.05 * (y_true == MEL) + rng.uniform(0, 0.04, len(y_true))  # higher for melanomas
    probabilities = np.full((len(y_true), 7), 0.05)
    probabilities[:, MEL] = p_mel
    probabilities[:, CLASS_CODES.index("nv")] = 1 - 0.05 * 5 - p_mel  # always the top class
    sentence = " ".join(words.melanoma_sentence("MobileNetV3-Large", screened(y_true, probabilities)).split())
    assert "AUC 1.000 [1.000, 1.000], whose interval lies above 0.5" in sentence
    assert ("Large is at chance in balanced accuracy, and its top class is nv for every test image, yet its "
            "melanoma probability still ranks melanomas above the other lesions") in sentence
    probabilities[:, MEL] = 0.1 + rng.uniform(0, 0.04, len(y_true))  # the same for every class: a coin toss
    probabilities[:, CLASS_CODES.index("nv")] = 1 - 0.05 * 5 - probabilities[:, MEL]
    coin = " ".join(words.melanoma_sentence("MobileNetV3-Large", screened(y_true, probabilities)).split())
    assert "whose interval reaches 0.5" in coin and "still ranks" not in coin
    learned = simulated_probabilities(y_true, skill=4.0)
    assert "still ranks" not in words.melanoma_sentence("MobileNetV3-Small", screened(y_true, learned))


@pytest.mark.parametrize("values, reading", [
    ((0.95, 0.91, 0.98), "its interval stays above the 90% target"),
    ((0.93, 0.85, 0.99), "it meets the 90% target, but its interval reaches down to 0.85"),
    ((0.87, 0.79, 0.93), "it is below the 90% target on these images, but its interval reaches up to 0.93, "
                         "so whether new images would meet it is not settled"),
    ((0.70, 0.60, 0.80), "its whole interval lies below the 90% target")])
def test_the_sensitivity_target_is_called_missed_only_when_the_whole_interval_lies_below_it(values, reading):
    text = words.sensitivity_reading(screening(*values), 0.9)
    assert text.startswith(reading)
    # one reading per case: a point estimate below the target is not called a miss while its interval reaches it
    assert ("whole interval lies below" in text) == (values[2] < 0.9)


def test_flagged_images_count_the_melanomas_among_them(analysed):
    _, results, _, _ = analysed
    table = words.melanoma_table(results)
    for name, each in results.items():
        s, test = each.screening, each.test
        is_mel = (test["true"] == "mel").to_numpy()
        flagged = (test["p_mel"] >= s["threshold"]).to_numpy()
        expected = f"{flagged.sum()} of {len(test)} ({(flagged & is_mel).sum()} of the {is_mel.sum()} melanomas)"
        assert table.loc["test images flagged", name.rsplit("-", 1)[-1]] == expected
    assert words.melanomas_flagged({"melanomas": 0, "sensitivity": float("nan")}) == "no melanomas"


# --- notebook 08's worked solutions ------------------------------------------------------------------------

def test_another_seed_moves_only_interval_bounds(analysed):
    runs = analysed[0]
    changes = changes_between(analyses_by_setting(runs, SAMPLE, "seed", (0, 1)))
    changed = changes.index[changes["changed"]]
    assert len(changed) > 0 and all(name.endswith(("_low", "_high")) for name in changed)
    assert not changes.loc["small_finetune / temperature", "changed"]


def test_referral_and_screening_rows_follow_the_setting(analysed):
    runs = analysed[0]
    referrals = referral_rows(analyses_by_setting(runs, SAMPLE, "refer_fraction", (0.1, 0.5)))
    small = referrals[referrals["model"] == "Small"].set_index("share asked (validation)")["referred on test"]
    assert small[0.1] < small[0.5]
    screening = screening_rows(analyses_by_setting(runs, SAMPLE, "sensitivity_target", (0.5, 1.0)))
    small = screening[screening["model"] == "Small"].set_index("target (validation)")
    assert small.at[1.0, "threshold"] <= small.at[0.5, "threshold"]
    assert small.at[1.0, "specificity"] <= small.at[0.5, "specificity"]


def test_interval_widths_times_the_square_root_of_n():
    groups = pd.DataFrame({"stage": "s", "attribute": "sex", "group": ["female", "male", "tiny"], "n": [100, 25, 4],
                           "balanced_accuracy": [0.5, 0.5, np.nan], "low": [0.45, 0.4, np.nan],
                           "high": [0.55, 0.6, np.nan]})
    widths = interval_widths(groups)
    assert widths["group"].tolist() == ["female", "male"]
    assert widths["width_times_sqrt_n"].tolist() == pytest.approx([1.0, 1.0])
    assert interval_widths(None).empty
