"""What notebook 08's worked solutions compute: its analysis again with one setting changed.

Everything is read from the saved predictions, as in notebook 08: nothing is trained, predicted
or written.
"""

import math

import pandas as pd

from ..reporting.conclusion import short_name
from ..reporting.trust import analyse_final_models, trust_summary


def analyses_by_setting(runs_root, data_root, setting, values, **options):
    """{value: notebook 8's analysis with `setting` (refer_fraction, sensitivity_target, seed) set to it}."""
    return {value: analyse_final_models(runs_root, data_root, **{setting: value}, **options) for value in values}


def referral_rows(analyses):
    """Per share referred on validation and model: test cases referred, kept-case scores, the gain interval."""
    return pd.DataFrame([{"share asked (validation)": share, "model": short_name(name),
                          "referred on test": each.referral["referred_fraction"],
                          "balanced accuracy, kept": each.referral["balanced_accuracy_kept"],
                          "gain low": each.referral["gain_low"], "gain high": each.referral["gain_high"],
                          "mel recall, kept": each.referral["mel_recall_kept"]}
                         for share, results in analyses.items() for name, each in results.items()])


def screening_rows(analyses):
    """Per sensitivity target and model: the validation threshold and its test sensitivity and specificity."""
    return pd.DataFrame([{"target (validation)": target, "model": short_name(name),
                          "threshold": each.screening["threshold"], "sensitivity": each.screening["sensitivity"],
                          "sensitivity low": each.screening["sensitivity_low"],
                          "specificity": each.screening["specificity"], "flagged": each.screening["flagged"]}
                         for target, results in analyses.items() for name, each in results.items()])


def interval_widths(subgroups):
    """The scored groups' n and interval width, and width x sqrt(n): about constant if width goes as 1/sqrt(n)."""
    if subgroups is None:
        return pd.DataFrame(columns=["stage", "attribute", "group", "n", "width", "width_times_sqrt_n"])
    rated = subgroups.dropna(subset=["balanced_accuracy"])
    widths = rated["high"] - rated["low"]
    return rated[["stage", "attribute", "group", "n"]].assign(
        width=widths, width_times_sqrt_n=widths * rated["n"].map(math.sqrt)).reset_index(drop=True)


def changes_between(analyses):
    """Each number of trust.json (per stage) under every seed, and whether it changed between them."""
    columns = {seed: pd.json_normalize(trust_summary(results), sep=" / ").iloc[0]
               for seed, results in analyses.items()}
    table = pd.DataFrame(columns)
    numbers = table[table.apply(lambda row: all(isinstance(v, float) for v in row), axis=1)].astype(float)
    return numbers.assign(changed=numbers.nunique(axis=1, dropna=False) > 1)
