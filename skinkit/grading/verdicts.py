"""A submission's matrix (and run) compared with the reference's: the recall table and the verdict.

A submission passes when its supports (images per class) equal the reference's exactly (same
split) and every class recall and the balanced accuracy are within the tolerance (absolute
difference, 1e-9 slack for rounding). A class without images has an undefined recall; undefined
on both sides counts as equal. When both runs have a config.json, another stage, data fingerprint
or seed fails whatever the matrices say: offline every stage predicts one class, so the matrices
of two different runs can agree exactly.
"""

import dataclasses
import json
import math
from dataclasses import dataclass

import pandas as pd

from ..confusion import read_confusion_matrix, read_run_config
from ..metrics import balanced_accuracy_from_confusion, recall_from_confusion

DEFAULT_TOLERANCE = 0.05
FLOAT_SLACK = 1e-9
BALANCED_ACCURACY = "balanced_accuracy"
TABLE_COLUMNS = ("reference_recall", "submission_recall", "difference")
# config.json keys that must agree between reference and submission, as the grader names them.
RUN_IDENTITY = {"stage": "stage", "data_fingerprint": "data fingerprint", "seed": "seed"}


@dataclass
class GradeReport:
    """The outcome of comparing one submission with the reference, and what made it fail."""

    passed: bool
    table: pd.DataFrame
    balanced_accuracy_difference: float
    worst_class: str
    reason: str
    supports: pd.Series = None       # the reference's images per class
    support_differences: tuple = ()  # classes whose number of images differs: another split
    outside: tuple = ()              # table rows (classes, balanced_accuracy) outside the tolerance
    run_differences: tuple = ()      # RUN_IDENTITY keys whose config.json values differ


def supports(cm):
    """Number of true samples per class (row sums)."""
    return cm.sum(axis=1).rename("support")


def recalls(cm):
    """Per-class recall = diagonal / row sum, labelled by class; NaN for a class with zero support."""
    return pd.Series(recall_from_confusion(cm), index=cm.index, name="recall")


def recall_table(reference_cm, submission_cm):
    """Reference and submission recall per class plus a balanced-accuracy row, and their difference."""
    def with_balanced_accuracy(cm):
        overall = pd.Series({BALANCED_ACCURACY: float(balanced_accuracy_from_confusion(cm))})
        return pd.concat([recalls(cm), overall])

    reference, submission = with_balanced_accuracy(reference_cm), with_balanced_accuracy(submission_cm)
    table = pd.DataFrame(dict(zip(TABLE_COLUMNS, (reference, submission, submission - reference))))
    table.index.name = "class"
    return table


def compare(reference_cm, submission_cm, tolerance=DEFAULT_TOLERANCE):
    """Compare a submission's supports and recalls with the reference's."""
    check_tolerance(tolerance)
    table = recall_table(reference_cm, submission_cm)
    gaps = absolute_gaps(table)
    outside = tuple(gaps.index[gaps > tolerance + FLOAT_SLACK])
    reference_supports, submission_supports = supports(reference_cm), supports(submission_cm)
    differing = tuple(reference_supports.index[reference_supports != submission_supports])
    problems = [support_problem(differing, reference_supports, submission_supports),
                recall_problem(table, outside, tolerance)]
    problems = [problem for problem in problems if problem]
    reason = "; ".join(problems) or (
        f"all class recalls and the balanced accuracy are within {tolerance:g} of the reference")
    return GradeReport(
        passed=not problems, table=table,
        balanced_accuracy_difference=float(table.at[BALANCED_ACCURACY, "difference"]),
        worst_class=worst_class(gaps.drop(BALANCED_ACCURACY)), reason=reason,
        supports=reference_supports, support_differences=differing, outside=outside)


def check_tolerance(tolerance):
    """ValueError unless the tolerance is a finite number >= 0."""
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")


def absolute_gaps(table):
    """|difference| per row; 0 where both recalls are NaN, infinity where only one is."""
    both_undefined = table["reference_recall"].isna() & table["submission_recall"].isna()
    gaps = table["difference"].abs().mask(both_undefined, 0.0)
    return gaps.fillna(math.inf)


def worst_class(class_gaps):
    """Code of the class with the largest gap; "" when no class differs at all."""
    return str(class_gaps.idxmax()) if class_gaps.max() > 0 else ""


def support_problem(differing, reference_supports, submission_supports):
    """The reason text for classes whose number of images differs ("" when none does)."""
    if not differing:
        return ""
    details = ", ".join(f"{code} (reference {reference_supports[code]}, submission {submission_supports[code]})"
                        for code in differing)
    return f"supports differ from the reference (not the same split): {details}"


def recall_problem(table, outside, tolerance):
    """The reason text for rows outside the tolerance ("" when none is)."""
    if not outside:
        return ""
    details = ", ".join(f"{name} {table.at[name, 'difference']:+.4f}" for name in outside)
    return f"outside tolerance {tolerance:g}: {details}"


def run_differences(reference_config, submission_config):
    """RUN_IDENTITY keys recorded differently in the two config.json (none when either is missing)."""
    if reference_config is None or submission_config is None:
        return ()
    return tuple(key for key in RUN_IDENTITY if key in reference_config and key in submission_config
                 and reference_config[key] != submission_config[key])


def run_mismatch(reference_config, submission_config):
    """What differs between two runs' stage, data fingerprint and seed ("" when alike or unknown)."""
    differing = [difference_text(RUN_IDENTITY[key], submission_config[key], reference_config[key])
                 for key in run_differences(reference_config, submission_config)]
    return "not the same run as the reference: " + ", ".join(differing) if differing else ""


def difference_text(label, value, reference):
    """One differing setting; values that only differ in kind ("0" and 0) are shown as JSON writes them."""
    if shown(value) != shown(reference):
        return f"{label} {shown(value)} (reference {shown(reference)})"
    return (f"{label} {shown(json.dumps(value))} (reference {shown(json.dumps(reference))}): a {kind(value)} "
            f"where the kit writes a {kind(reference)}; run the notebook again rather than editing config.json")


def kind(value):
    """What kind of JSON value a config value is, in a word."""
    return "text" if isinstance(value, str) else "number" if isinstance(value, (int, float)) else type(value).__name__


def shown(value):
    """A config value short enough for a verdict line (fingerprints are 64 hex digits)."""
    text = str(value)
    return text[:12] + "…" if len(text) > 16 else text


def grade_matrix(reference_cm, reference_config, submission_cm, submission_config, tolerance):
    """Compare the matrices; a run that differs from the reference's (config.json) fails as well."""
    report = compare(reference_cm, submission_cm, tolerance)
    mismatch = run_mismatch(reference_config, submission_config)
    if not mismatch:
        return report
    reason = mismatch if report.passed else f"{mismatch}; {report.reason}"
    return dataclasses.replace(report, passed=False, reason=reason,
                               run_differences=run_differences(reference_config, submission_config))


def grade_submission(reference_cm, submission, tolerance=DEFAULT_TOLERANCE, reference_config=None):
    """Read a submission (run folder or CSV) and compare it with the reference."""
    return grade_matrix(reference_cm, reference_config, read_confusion_matrix(submission),
                        read_run_config(submission), tolerance)


def format_table(table):
    """The recall table as text, 4 decimals, signed differences, n/a for undefined recalls."""
    def number(value):
        return "n/a" if pd.isna(value) else f"{value:.4f}"

    def signed(value):
        return "n/a" if pd.isna(value) else f"{value:+.4f}"

    formatters = {"reference_recall": number, "submission_recall": number, "difference": signed}
    return table.reset_index().to_string(index=False, formatters=formatters)


def verdict_line(report):
    """One line: PASS or FAIL followed by the reason."""
    return f"{'PASS' if report.passed else 'FAIL'}: {report.reason}"
