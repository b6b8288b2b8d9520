"""Grade students' confusion matrices against an instructor's reference run.

The grader reads only ``confusion_matrix.csv`` files (rows = true class, columns =
predicted class, integer counts, as written by a training run) and, when present, the
``config.json`` beside them (plain JSON); it never runs or unpickles anything a student
hands in.  All metrics derive from the matrix:

* recall of a class = diagonal count / row sum (its support); a class with zero
  support has recall NaN, and NaN in both reference and submission counts as equal;
* balanced accuracy = mean of the defined (non-NaN) recalls, as in scikit-learn.

A submission passes when its supports (row sums) equal the reference's exactly (same
split) and every class recall and the balanced accuracy are within ``tolerance``
(absolute difference, with 1e-9 slack for floating-point rounding) of the reference.
When both run folders hold ``config.json``, a different stage, data fingerprint or seed
is a FAIL whatever the matrices say: offline, every stage predicts one class, so the
matrices of two different runs can agree exactly.

Exit codes of the CLI: 0 pass, 1 fail (a different run included), 2 unusable input (one
line on stderr).  In class mode (a folder of student folders) it is 0 once every student
has a verdict (pass/fail/unusable, written to the verdicts CSV) and 2 if the reference is
unusable.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from skinkit.classes import CLASS_CODES, NUM_CLASSES
from skinkit.errors import KitError, one_line

MATRIX_FILENAME = "confusion_matrix.csv"
CONFIG_FILENAME = "config.json"
# config.json keys that must agree between reference and submission, as the grader names them.
RUN_IDENTITY = {"stage": "stage", "data_fingerprint": "data fingerprint", "seed": "seed"}
VERDICTS_FILENAME = "verdicts.csv"
DEFAULT_TOLERANCE = 0.05
FLOAT_SLACK = 1e-9
BALANCED_ACCURACY = "balanced_accuracy"
TABLE_COLUMNS = ("reference_recall", "submission_recall", "difference")
VERDICT_COLUMNS = ("student", "verdict", "balanced_accuracy_difference", "worst_class", "reason")

EXIT_PASS, EXIT_FAIL, EXIT_UNUSABLE = 0, 1, 2


class GradingInputError(KitError, ValueError):
    """A confusion-matrix file that cannot be graded; the message names the file."""

    title = "Unusable grading input"


@dataclass
class GradeReport:
    """The outcome of comparing one submission with the reference."""

    passed: bool
    table: pd.DataFrame
    balanced_accuracy_difference: float
    worst_class: str
    reason: str


# --- reading and validating -------------------------------------------------------


def resolve_matrix_path(path) -> Path:
    """The confusion_matrix.csv inside a run folder, or the path itself when it is not a folder."""
    path = Path(path)
    return path / MATRIX_FILENAME if path.is_dir() else path


def read_confusion_matrix(path) -> pd.DataFrame:
    """Read and validate a 7x7 count matrix (file or run folder); raise GradingInputError if unusable."""
    csv_path = resolve_matrix_path(path)
    raw = _read_csv(csv_path)
    _check_shape(raw, csv_path)
    _check_labels(raw, csv_path)
    return _check_counts(raw, csv_path)


def _read_csv(csv_path: Path) -> pd.DataFrame:
    if not csv_path.exists():
        raise GradingInputError(f"{csv_path}: missing file")
    if not csv_path.is_file():
        raise GradingInputError(f"{csv_path}: not a regular file")
    try:
        return pd.read_csv(csv_path, index_col=0, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise GradingInputError(f"{csv_path}: not a CSV file (it is empty)") from None
    except UnicodeDecodeError:
        raise GradingInputError(f"{csv_path}: not a CSV file (not UTF-8 text)") from None
    except (ValueError, csv.Error) as exc:  # pandas' ParserError is a ValueError
        raise GradingInputError(f"{csv_path}: not a readable CSV file ({_one_line(exc)})") from None
    except OSError as exc:
        raise GradingInputError(f"{csv_path}: cannot be read ({exc.strerror or exc})") from None


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__


def _check_shape(raw: pd.DataFrame, csv_path: Path) -> None:
    if raw.shape[1] == 0:
        raise GradingInputError(f"{csv_path}: not a CSV confusion matrix (no comma-separated columns)")
    if raw.shape != (NUM_CLASSES, NUM_CLASSES):
        raise GradingInputError(
            f"{csv_path}: wrong shape: expected {NUM_CLASSES}x{NUM_CLASSES} counts "
            f"(rows = true class, columns = predicted class) under a header of class labels, "
            f"{_what_was_read(raw)}")


def _what_was_read(raw: pd.DataFrame) -> str:
    """The shape as read; without class labels the header row and label column are counts too."""
    rows, columns = raw.shape
    if set(map(str, raw.columns)) & set(CLASS_CODES):
        return f"got {rows}x{columns}"
    return f"read {rows + 1} rows × {columns + 1} columns, no class labels in the header"


def _check_labels(raw: pd.DataFrame, csv_path: Path) -> None:
    for axis, labels in (("row", raw.index), ("column", raw.columns)):
        found = [str(label) for label in labels]
        if found == list(CLASS_CODES):
            continue
        problem = "misordered" if sorted(found) == sorted(CLASS_CODES) else "wrong"
        raise GradingInputError(
            f"{csv_path}: {problem} {axis} labels {','.join(found)}; "
            f"expected {','.join(CLASS_CODES)} in this order")


def _check_counts(raw: pd.DataFrame, csv_path: Path) -> pd.DataFrame:
    numbers = raw.apply(lambda column: pd.to_numeric(column.str.strip(), errors="coerce"))
    _reject_entries(numbers.isna().to_numpy(), raw, csv_path, "non-numeric or empty entry")
    values = numbers.to_numpy(dtype=float)
    not_integer = ~np.isfinite(values) | (values != np.round(values))
    _reject_entries(not_integer, raw, csv_path, "non-integer entry")
    _reject_entries(values < 0, raw, csv_path, "negative entry")
    return pd.DataFrame(values.astype(np.int64),
                        index=pd.Index(CLASS_CODES, name="true"),
                        columns=pd.Index(CLASS_CODES, name="predicted"))


def _reject_entries(mask: np.ndarray, raw: pd.DataFrame, csv_path: Path, problem: str) -> None:
    if not mask.any():
        return
    row, column = np.argwhere(mask)[0]
    entry = str(raw.iat[row, column])[:20]
    raise GradingInputError(
        f"{csv_path}: {problem} {entry!r} at true={CLASS_CODES[row]}, predicted={CLASS_CODES[column]}; "
        "counts must be non-negative integers")


def read_run_config(path) -> dict | None:
    """The config.json of the run folder holding a matrix (file or run folder); None when absent."""
    config_path = resolve_matrix_path(path).parent / CONFIG_FILENAME
    if not config_path.is_file():
        return None
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GradingInputError(f"{config_path}: not a readable JSON file ({_one_line(exc)})") from None
    if not isinstance(config, dict):
        raise GradingInputError(f"{config_path}: not a run configuration (expected a JSON object)")
    return config


def run_mismatch(reference_config: dict | None, submission_config: dict | None) -> str:
    """What differs between two runs' stage, data fingerprint and seed ("" when alike or unknown)."""
    if reference_config is None or submission_config is None:
        return ""
    differing = [f"{name} {_shown(submission_config[key])} (reference {_shown(reference_config[key])})"
                 for key, name in RUN_IDENTITY.items()
                 if key in reference_config and key in submission_config
                 and reference_config[key] != submission_config[key]]
    return "not the same run as the reference: " + ", ".join(differing) if differing else ""


def _shown(value) -> str:
    text = str(value)
    return text[:12] + "…" if len(text) > 16 else text  # fingerprints are 64 hex digits


# --- metrics and comparison -------------------------------------------------------


def supports(cm: pd.DataFrame) -> pd.Series:
    """Number of true samples per class (row sums)."""
    return cm.sum(axis=1).rename("support")


def recalls(cm: pd.DataFrame) -> pd.Series:
    """Per-class recall = diagonal / row sum; NaN for a class with zero support."""
    diagonal = pd.Series(np.diag(cm.to_numpy()), index=cm.index, dtype=float)
    support = supports(cm).astype(float)
    return (diagonal / support.where(support > 0)).rename("recall")


def balanced_accuracy(cm: pd.DataFrame) -> float:
    """Mean of the defined per-class recalls (classes with zero support are skipped)."""
    return float(recalls(cm).mean())


def recall_table(reference_cm: pd.DataFrame, submission_cm: pd.DataFrame) -> pd.DataFrame:
    """Reference and submission recall per class plus a balanced-accuracy row, and their difference."""
    def with_balanced_accuracy(cm):
        return pd.concat([recalls(cm), pd.Series({BALANCED_ACCURACY: balanced_accuracy(cm)})])

    reference, submission = with_balanced_accuracy(reference_cm), with_balanced_accuracy(submission_cm)
    table = pd.DataFrame(dict(zip(TABLE_COLUMNS, (reference, submission, submission - reference))))
    table.index.name = "class"
    return table


def compare(reference_cm: pd.DataFrame, submission_cm: pd.DataFrame,
            tolerance: float = DEFAULT_TOLERANCE) -> GradeReport:
    """Compare a submission's supports and recalls with the reference's."""
    _check_tolerance(tolerance)
    table = recall_table(reference_cm, submission_cm)
    gaps = _absolute_gaps(table)
    problems = [_support_problem(reference_cm, submission_cm), _recall_problem(table, gaps, tolerance)]
    problems = [problem for problem in problems if problem]
    reason = "; ".join(problems) or (
        f"all class recalls and the balanced accuracy are within {tolerance:g} of the reference")
    return GradeReport(
        passed=not problems,
        table=table,
        balanced_accuracy_difference=float(table.at[BALANCED_ACCURACY, "difference"]),
        worst_class=_worst_class(gaps.drop(BALANCED_ACCURACY)),
        reason=reason,
    )


def grade_submission(reference_cm: pd.DataFrame, submission, tolerance: float = DEFAULT_TOLERANCE,
                     reference_config: dict | None = None) -> GradeReport:
    """Read and compare a submission; a run that differs from the reference's (config.json) fails."""
    report = compare(reference_cm, read_confusion_matrix(submission), tolerance)
    mismatch = run_mismatch(reference_config, read_run_config(submission))
    if not mismatch:
        return report
    reason = mismatch if report.passed else f"{mismatch}; {report.reason}"
    return dataclasses.replace(report, passed=False, reason=reason)


def _check_tolerance(tolerance: float) -> None:
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")


def _worst_class(class_gaps: pd.Series) -> str:
    """Code of the class with the largest gap; "" when no class differs at all."""
    return str(class_gaps.idxmax()) if class_gaps.max() > 0 else ""


def _absolute_gaps(table: pd.DataFrame) -> pd.Series:
    """|difference| per row; 0 where both recalls are NaN, infinity where only one is."""
    both_undefined = table["reference_recall"].isna() & table["submission_recall"].isna()
    gaps = table["difference"].abs().mask(both_undefined, 0.0)
    return gaps.fillna(math.inf)


def _support_problem(reference_cm: pd.DataFrame, submission_cm: pd.DataFrame) -> str:
    reference, submission = supports(reference_cm), supports(submission_cm)
    differing = reference.index[reference != submission]
    if differing.empty:
        return ""
    details = ", ".join(f"{code} (reference {reference[code]}, submission {submission[code]})"
                        for code in differing)
    return f"supports differ from the reference (not the same split): {details}"


def _recall_problem(table: pd.DataFrame, gaps: pd.Series, tolerance: float) -> str:
    outside = gaps.index[gaps > tolerance + FLOAT_SLACK]
    if outside.empty:
        return ""
    details = ", ".join(f"{name} {table.at[name, 'difference']:+.4f}" for name in outside)
    return f"outside tolerance {tolerance:g}: {details}"


def format_table(table: pd.DataFrame) -> str:
    """The recall table as text, 4 decimals, signed differences, n/a for undefined recalls."""
    def number(value):
        return "n/a" if pd.isna(value) else f"{value:.4f}"

    def signed(value):
        return "n/a" if pd.isna(value) else f"{value:+.4f}"

    formatters = {"reference_recall": number, "submission_recall": number, "difference": signed}
    return table.reset_index().to_string(index=False, formatters=formatters)


def verdict_line(report: GradeReport) -> str:
    """One line: PASS or FAIL followed by the reason."""
    return f"{'PASS' if report.passed else 'FAIL'}: {report.reason}"


# --- class mode -------------------------------------------------------------------


def student_folders(folder) -> list[Path]:
    """Immediate subfolders of a class folder (hidden ones skipped), sorted by name."""
    return sorted(path for path in Path(folder).iterdir()
                  if path.is_dir() and not path.name.startswith("."))


def is_class_folder(path) -> bool:
    """True for a folder with student subfolders and no confusion_matrix.csv of its own."""
    path = Path(path)
    return path.is_dir() and not (path / MATRIX_FILENAME).exists() and bool(student_folders(path))


def check_not_empty_folder(path) -> None:
    """GradingInputError for a folder holding neither a confusion_matrix.csv nor student folders."""
    path = Path(path)
    if path.is_dir() and not (path / MATRIX_FILENAME).exists() and not student_folders(path):
        raise GradingInputError(
            f"{path}: no {MATRIX_FILENAME} and no student folders found (give a run folder, "
            f"or a class folder with a subfolder per student)")


def report_row(student: str, report: GradeReport) -> dict:
    """The verdicts-CSV row of a graded (pass or fail) submission."""
    verdict = "pass" if report.passed else "fail"
    return dict(zip(VERDICT_COLUMNS, (student, verdict, report.balanced_accuracy_difference,
                                      report.worst_class, report.reason)))


def verdict_row(student: str, reference_cm: pd.DataFrame, submission, tolerance: float,
                reference_config: dict | None = None) -> dict:
    """Grade one submission into a verdicts-CSV row; unusable input is recorded, not raised."""
    try:
        report = grade_submission(reference_cm, submission, tolerance, reference_config)
    except GradingInputError as exc:
        return dict(zip(VERDICT_COLUMNS, (student, "unusable", math.nan, "", str(exc))))
    return report_row(student, report)


def class_verdicts(reference_cm: pd.DataFrame, folder, tolerance: float = DEFAULT_TOLERANCE,
                   reference_config: dict | None = None) -> pd.DataFrame:
    """One verdict row per student folder in `folder` (columns VERDICT_COLUMNS)."""
    rows = [verdict_row(student.name, reference_cm, student, tolerance, reference_config)
            for student in student_folders(folder)]
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


def grade_class(reference, folder, tolerance: float = DEFAULT_TOLERANCE, out=None) -> pd.DataFrame:
    """Grade every student folder in `folder` and write the verdicts CSV (default folder/verdicts.csv)."""
    if isinstance(reference, pd.DataFrame):
        reference_cm, reference_config = reference, None
    else:
        reference_cm, reference_config = read_confusion_matrix(reference), read_run_config(reference)
    verdicts = class_verdicts(reference_cm, folder, tolerance, reference_config)
    verdicts.to_csv(Path(out) if out else Path(folder) / VERDICTS_FILENAME, index=False)
    return verdicts


def student_line(row) -> str:
    """One printed line for a student's verdict."""
    if row["verdict"] == "unusable":
        return f"{row['student']}: UNUSABLE: {row['reason']}"
    worst = f"worst class {row['worst_class']}" if row["worst_class"] else "no class differs"
    summary = f"balanced accuracy difference {row['balanced_accuracy_difference']:+.4f}, {worst}"
    if row["verdict"] == "pass":
        return f"{row['student']}: PASS ({summary})"
    return f"{row['student']}: FAIL: {row['reason']} ({summary})"


# --- command line -----------------------------------------------------------------


def _tolerance_argument(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add --reference, --submission, --tolerance and --out to an argparse parser."""
    parser.add_argument("--reference", required=True, metavar="REF",
                        help="reference run folder or its confusion_matrix.csv")
    parser.add_argument("--submission", required=True, metavar="SUB",
                        help="student run folder or confusion_matrix.csv, or a folder of student folders")
    parser.add_argument("--tolerance", type=_tolerance_argument, default=DEFAULT_TOLERANCE,
                        help=f"largest allowed absolute recall difference (default {DEFAULT_TOLERANCE})")
    parser.add_argument("--out", metavar="CSV", default=None,
                        help="verdicts CSV to write (class mode default: SUB/verdicts.csv)")
    return parser


def run(args: argparse.Namespace) -> int:
    """Grade from parsed arguments; return 0 pass, 1 fail, 2 unusable input (class mode: 0 or 2)."""
    try:
        reference_cm = read_confusion_matrix(args.reference)
        reference_config = read_run_config(args.reference)
    except GradingInputError as exc:
        return _unusable("reference", exc)
    if is_class_folder(args.submission):
        return _run_class(reference_cm, reference_config, args)
    return _run_single(reference_cm, reference_config, args)


def _unusable(role: str, exc: Exception) -> int:
    print(f"error: unusable {role}: {one_line(exc)}", file=sys.stderr)
    return EXIT_UNUSABLE


def _run_single(reference_cm: pd.DataFrame, reference_config: dict | None, args: argparse.Namespace) -> int:
    try:
        check_not_empty_folder(args.submission)
        report = grade_submission(reference_cm, args.submission, args.tolerance, reference_config)
    except GradingInputError as exc:
        return _unusable("submission", exc)
    print(f"Reference:  {resolve_matrix_path(args.reference)}")
    print(f"Submission: {resolve_matrix_path(args.submission)}")
    print(f"Tolerance:  {args.tolerance:g} (absolute difference in recall)\n")
    print(format_table(report.table))
    print(verdict_line(report))
    if args.out:
        row = report_row(resolve_matrix_path(args.submission).parent.name, report)
        if not _write_verdicts(pd.DataFrame([row], columns=list(VERDICT_COLUMNS)), args.out):
            return EXIT_UNUSABLE
    return EXIT_PASS if report.passed else EXIT_FAIL


def _run_class(reference_cm: pd.DataFrame, reference_config: dict | None, args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else Path(args.submission) / VERDICTS_FILENAME
    verdicts = class_verdicts(reference_cm, args.submission, args.tolerance, reference_config)
    for _, row in verdicts.iterrows():
        print(student_line(row))
    counts = verdicts["verdict"].value_counts()
    print(f"Graded {len(verdicts)} students: " + ", ".join(
        f"{counts.get(verdict, 0)} {verdict}" for verdict in ("pass", "fail", "unusable")))
    return EXIT_PASS if _write_verdicts(verdicts, out) else EXIT_UNUSABLE


def _write_verdicts(verdicts: pd.DataFrame, out) -> bool:
    try:
        verdicts.to_csv(out, index=False)
    except OSError as exc:
        print(f"error: cannot write verdicts to {out}: {exc.strerror or exc}", file=sys.stderr)
        return False
    print(f"Verdicts written to {out}")
    return True


def main(argv=None) -> int:
    """Command-line entry point: parse `argv` and grade; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m skinkit grade",
        description="Grade confusion matrices against a reference run (reads only confusion_matrix.csv).")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
