"""Notebook 8: would a clinic trust the fine-tuned models? Calibration, referral, melanoma, subgroups.

Everything is computed from the predictions saved in the run folders (predictions_val.csv,
predictions_test.csv): nothing is predicted again. Every choice (the temperature, the referral
threshold, the melanoma threshold) is made on validation and judged on test.
"""

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..files import read_json, save_figure, write_csv, write_json
from .calibration import expected_calibration_error, fit_temperature, reliability_table, temperature_scaled
from .chance import read_against_chance
from .comparison import FINAL_STAGES
from .intervals import CONFIDENCE
from .melanoma import SENSITIVITY_TARGET, melanoma_roc, screening_result, screening_threshold
from .predictions import predicted_labels, probabilities, true_labels
from .referral import REFER_FRACTION, referral_curve, referral_result, referral_threshold
from .stage_predictions import stage_predictions
from .subgroups import MIN_GROUP_IMAGES, SUBGROUP_COLUMNS, patient_metadata, subgroup_table
from .trust_plots import plot_melanoma_roc, plot_referral, plot_reliability


@dataclass
class StageTrust:
    """One fine-tuned model's trust analysis: every number of notebook 8, validation-fitted, test-judged."""

    name: str
    stage: str
    pretrained: bool
    test: pd.DataFrame         # predictions_test.csv
    balanced_accuracy: tuple   # on test: (score, interval low, interval high, chance reading)
    temperature: float         # fitted on validation
    ece_before: float          # on test
    ece_after: float
    reliability_before: pd.DataFrame  # on test, per confidence bin
    reliability_after: pd.DataFrame
    referral_curve: pd.DataFrame      # on test, after temperature scaling
    referral: dict             # the validation threshold applied to test
    roc: tuple                 # (false positive rates, true positive rates) on test
    screening: dict            # the validation melanoma threshold applied to test

    @property
    def vs_chance(self):
        """The model's test balanced accuracy against chance: the reading of every notebook (chance.py)."""
        return self.balanced_accuracy[3]

    def summary(self):
        """The numbers trust.json keeps for this stage (an undefined score is null)."""
        return without_nan({"temperature": self.temperature, "ece_test_before": self.ece_before,
                "ece_test_after": self.ece_after, "mel_auc_test": self.screening["mel_auc"],
                "mel_sensitivity_test": self.screening["sensitivity"],
                "mel_specificity_test": self.screening["specificity"],
                "referred_fraction_test": self.referral["referred_fraction"],
                "balanced_accuracy_kept_test": self.referral["balanced_accuracy_kept"],
                "balanced_accuracy_test": self.balanced_accuracy[0],
                "balanced_accuracy_test_low": self.balanced_accuracy[1],
                "balanced_accuracy_test_high": self.balanced_accuracy[2], "vs_chance_test": self.vs_chance,
                "pretrained": self.pretrained, "test_images": len(self.test),
                "referral": self.referral, "melanoma_screening": self.screening})


def without_nan(values):
    """A dict (and the dicts in it) with NaN numbers replaced by None, which JSON writes as null."""
    return {key: without_nan(value) if isinstance(value, dict) else
            None if isinstance(value, float) and math.isnan(value) else value for key, value in values.items()}


def analyse_stage(name, stage, runs_root, data_root, device=None, refer_fraction=REFER_FRACTION,
                  sensitivity_target=SENSITIVITY_TARGET, confidence=CONFIDENCE, seed=0):
    """Calibration, referral and melanoma screening of one finished stage, from its saved predictions."""
    val, test = (stage_predictions(runs_root, stage, data_root, split, device) for split in ("val", "test"))
    val_p, val_y, test_p, test_y = probabilities(val), true_labels(val), probabilities(test), true_labels(test)
    temperature = fit_temperature(val_p, val_y)
    scaled_val, scaled_test = temperature_scaled(val_p, temperature), temperature_scaled(test_p, temperature)
    referral = referral_result(test_y, scaled_test, referral_threshold(scaled_val, refer_fraction),
                               confidence, seed)
    screening = screening_result(test_y, test_p, screening_threshold(val_y, val_p, sensitivity_target),
                                 confidence, seed)
    config = read_json(Path(runs_root) / stage / "config.json")
    return StageTrust(
        name=name, stage=stage, pretrained=bool(config["pretrained"]), test=test,
        balanced_accuracy=read_against_chance(test_y, predicted_labels(test), confidence, seed),
        temperature=temperature,
        ece_before=expected_calibration_error(test_p, test_y),
        ece_after=expected_calibration_error(scaled_test, test_y),
        reliability_before=reliability_table(test_p, test_y),
        reliability_after=reliability_table(scaled_test, test_y),
        referral_curve=referral_curve(test_y, scaled_test),
        referral={**referral, "target_fraction": refer_fraction}, roc=melanoma_roc(test_y, test_p)[:2],
        screening={**screening, "sensitivity_target": sensitivity_target})


def analyse_final_models(runs_root, data_root, device=None, **options):
    """{model name: StageTrust} of the fine-tuned Large and Small (options: see analyse_stage)."""
    return {name: analyse_stage(name, stage, runs_root, data_root, device, **options)
            for name, stage in FINAL_STAGES.items()}


def subgroup_results(results, data_root, min_images=MIN_GROUP_IMAGES, confidence=CONFIDENCE, seed=0):
    """Subgroup rows of every model on test, or None when the dataset's manifest has no patient metadata."""
    metadata = patient_metadata(data_root)
    if metadata is None:
        return None
    return pd.concat([subgroup_table(each.stage, each.test["file"], true_labels(each.test),
                                     predicted_labels(each.test), metadata, min_images, confidence, seed)
                      for each in results.values()], ignore_index=True)


def describe_groups(subgroups):
    """The subgroups and their test images (the same for every model), or why there are none."""
    if subgroups is None:
        return ("This dataset's manifest.csv has no age, sex or body site: the subgroup part is skipped "
                "(`python -m skinkit prepare` copies them from the HAM10000 metadata).")
    sizes = subgroups.drop_duplicates(["attribute", "group"])[["attribute", "group", "n"]]
    return "test images per group:\n" + sizes.to_string(index=False)


def trust_summary(results):
    """trust.json's content: per stage, the numbers of StageTrust.summary."""
    return {each.stage: each.summary() for each in results.values()}


def save_trust(results, subgroups, out_dir):
    """Write the three figures, subgroups.csv (when there are subgroups) and trust.json; return their paths."""
    out_dir = Path(out_dir)
    figures = {"reliability.png": plot_reliability(results), "referral.png": plot_referral(results),
               "melanoma_roc.png": plot_melanoma_roc(results)}
    for file, figure in figures.items():
        save_figure(out_dir / file, figure)
    saved = list(figures)
    if subgroups is not None:
        write_csv(out_dir / "subgroups.csv", subgroups[SUBGROUP_COLUMNS], index=False)
        saved.append("subgroups.csv")
    write_json(out_dir / "trust.json", trust_summary(results))
    return {file: out_dir / file for file in [*saved, "trust.json"]}
