"""Tests for skinkit.grading: reading, comparing, the CLI's exit codes and class mode."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from skinkit import confusion as matrices
from skinkit.__main__ import main as skinkit_main
from skinkit.classes import CLASS_CODES
from skinkit.grading import cli, gradebook, students
from skinkit.grading.verdicts import DEFAULT_TOLERANCE, compare, recall_table, recalls
from skinkit.metrics import labels_from_confusion

REPO_ROOT = Path(__file__).resolve().parents[1]

# Rows = true class, columns = predicted; supports 100, 50, 110, 20, 111, 670, 30.
REFERENCE = np.array([
    [60, 5, 10, 0, 5, 20, 0],
    [4, 40, 2, 0, 1, 3, 0],
    [5, 3, 80, 1, 6, 15, 0],
    [0, 1, 1, 15, 0, 3, 0],
    [3, 2, 6, 0, 70, 30, 0],
    [5, 10, 20, 2, 33, 600, 0],
    [0, 1, 0, 0, 1, 3, 25],
])
CLASS = {code: i for i, code in enumerate(CLASS_CODES)}


def write_cm(path, counts, index=CLASS_CODES, columns=CLASS_CODES):
    """Write counts the way a training run does; returns the CSV path."""
    path = Path(path)
    if path.suffix != ".csv":
        path = path / "confusion_matrix.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(counts, index=list(index), columns=list(columns)).to_csv(path, index_label="true")
    return path


def moved(counts, code, n, to="nv"):
    """Copy of counts with n samples of true class `code` moved off the diagonal (support unchanged)."""
    out = np.array(counts, copy=True)
    out[CLASS[code], CLASS[code]] -= n
    out[CLASS[code], CLASS[to]] += n
    return out


def grade(capsys, reference, submission, *extra):
    """Run `python -m skinkit grade` in-process; return (exit code, stdout, stderr)."""
    code = skinkit_main(["grade", "--reference", str(reference), "--submission", str(submission), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def sklearn_balanced_accuracy(counts):
    """scikit-learn's balanced accuracy of the labels a confusion matrix of counts implies."""
    frame = pd.DataFrame(counts, index=list(CLASS_CODES), columns=list(CLASS_CODES))
    return balanced_accuracy_score(*labels_from_confusion(frame))


def assert_one_line_error(err, *fragments):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("grade: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def reference(tmp_path):
    return write_cm(tmp_path / "reference", REFERENCE).parent


# --- metrics ----------------------------------------------------------------------


def test_recalls_are_diagonal_over_row_sums():
    frame = pd.DataFrame(REFERENCE, index=list(CLASS_CODES), columns=list(CLASS_CODES))
    recall = recalls(frame)
    assert list(recall.index) == list(CLASS_CODES)
    assert recall["akiec"] == pytest.approx(0.60)
    assert recall["bcc"] == pytest.approx(0.80)
    assert recall["nv"] == pytest.approx(600 / 670)
    table = recall_table(frame, frame)
    assert table.at["balanced_accuracy", "reference_recall"] == pytest.approx(sklearn_balanced_accuracy(frame))


def test_zero_support_class_has_nan_recall_and_counts_as_equal(tmp_path):
    counts = REFERENCE.copy()
    counts[CLASS["vasc"], :] = 0
    ref = matrices.read_confusion_matrix(write_cm(tmp_path / "ref", counts))
    sub = matrices.read_confusion_matrix(write_cm(tmp_path / "sub", counts))
    assert np.isnan(recalls(ref)["vasc"])
    report = compare(ref, sub, 0.0)
    assert report.passed, report.reason
    assert report.worst_class == ""
    expected = recalls(ref).drop("vasc").mean()
    assert report.table.at["balanced_accuracy", "reference_recall"] == pytest.approx(expected)


def test_read_confusion_matrix_returns_labelled_integer_counts(reference):
    cm = matrices.read_confusion_matrix(reference)  # a run folder works as well as the file
    assert list(cm.index) == list(CLASS_CODES) and list(cm.columns) == list(CLASS_CODES)
    assert cm.to_numpy().tolist() == REFERENCE.tolist()
    assert cm.dtypes.map(pd.api.types.is_integer_dtype).all()


def test_the_kits_own_run_folders_are_read_by_the_same_validating_reader(tmp_path):
    from skinkit.training.run_folders import read_confusion

    assert read_confusion(write_cm(tmp_path / "run", REFERENCE)).to_numpy().tolist() == REFERENCE.tolist()
    with pytest.raises(matrices.RunFileError, match="negative entry"):
        read_confusion(bad_entry_cm(tmp_path / "bad.csv", -1))


def test_integral_float_counts_are_accepted(tmp_path):
    cm = matrices.read_confusion_matrix(write_cm(tmp_path / "m.csv", REFERENCE.astype(float)))
    assert cm.to_numpy().tolist() == REFERENCE.tolist()


# --- single submission ------------------------------------------------------------


def test_identical_matrices_pass(capsys, reference, tmp_path):
    submission = write_cm(tmp_path / "student", REFERENCE)
    code, out, err = grade(capsys, reference, submission)
    assert code == 0
    assert out.strip().splitlines()[-1].startswith("PASS")
    assert "balanced_accuracy" in out and all(c in out for c in CLASS_CODES)
    assert err == ""


def test_recall_moved_beyond_tolerance_fails_and_names_the_class(capsys, reference, tmp_path):
    submission = write_cm(tmp_path / "student", moved(REFERENCE, "mel", 10))  # mel -0.09
    code, out, _ = grade(capsys, reference, submission, "--tolerance", "0.05")
    verdict = out.strip().splitlines()[-1]
    assert code == 1
    assert verdict.startswith("FAIL") and "mel" in verdict
    for other in set(CLASS_CODES) - {"mel"}:
        assert other not in verdict


def test_compare_report_fields():
    ref = pd.DataFrame(REFERENCE, index=list(CLASS_CODES), columns=list(CLASS_CODES))
    sub = pd.DataFrame(moved(REFERENCE, "df", 4), index=list(CLASS_CODES), columns=list(CLASS_CODES))
    report = compare(ref, sub, 0.1)
    assert not report.passed
    assert report.worst_class == "df"
    assert report.table.at["df", "difference"] == pytest.approx(-0.2)
    assert report.balanced_accuracy_difference == pytest.approx(
        sklearn_balanced_accuracy(sub) - sklearn_balanced_accuracy(ref))
    assert "df -0.2000" in report.reason


def test_different_supports_fail(capsys, reference, tmp_path):
    counts = REFERENCE.copy()
    counts[CLASS["bkl"], CLASS["bkl"]] += 1  # one more bkl sample: a different split
    code, out, _ = grade(capsys, reference, write_cm(tmp_path / "student", counts),
                         "--tolerance", "0.5")
    verdict = out.strip().splitlines()[-1]
    assert code == 1
    assert verdict.startswith("FAIL") and "supports differ" in verdict
    assert "bkl (reference 110, submission 111)" in verdict


@pytest.mark.parametrize("n_moved, tolerance, expected_code", [
    (5, "0.05", 0),   # akiec recall 0.60 -> 0.55: exactly at the tolerance passes
    (6, "0.05", 1),   # 0.60 -> 0.54: just over fails
    (0, "0", 0),      # identical passes even with zero tolerance
    (1, "0", 1),      # one sample off fails with zero tolerance
    (1, "0.01", 0),   # 0.01 difference at tolerance 0.01 passes
])
def test_tolerance_edges(capsys, reference, tmp_path, n_moved, tolerance, expected_code):
    submission = write_cm(tmp_path / "student", moved(REFERENCE, "akiec", n_moved))
    code, out, _ = grade(capsys, reference, submission, "--tolerance", tolerance)
    assert code == expected_code
    assert out.strip().splitlines()[-1].startswith("PASS" if expected_code == 0 else "FAIL")


def test_improvement_beyond_tolerance_also_fails(capsys, reference, tmp_path):
    counts = REFERENCE.copy()
    counts[CLASS["bcc"], CLASS["bcc"]] += 5   # bcc 0.80 -> 0.90, support unchanged
    counts[CLASS["bcc"], CLASS["akiec"]] -= 4
    counts[CLASS["bcc"], CLASS["nv"]] -= 1
    code, out, _ = grade(capsys, reference, write_cm(tmp_path / "student", counts))
    assert code == 1
    assert "bcc +0.1000" in out


@pytest.mark.parametrize("bad_tolerance", ["-0.1", "abc", "nan"])
def test_invalid_tolerance_is_a_usage_error(capsys, reference, bad_tolerance):
    with pytest.raises(SystemExit) as exit_info:
        skinkit_main(["grade", "--reference", str(reference), "--submission", str(reference),
                      "--tolerance", bad_tolerance])
    assert exit_info.value.code == 2
    assert "--tolerance" in capsys.readouterr().err


def test_single_mode_out_writes_one_verdict_row(capsys, reference, tmp_path):
    out_csv = tmp_path / "one.csv"
    code, out, _ = grade(capsys, reference, write_cm(tmp_path / "alice", moved(REFERENCE, "mel", 10)),
                         "--out", str(out_csv))
    rows = pd.read_csv(out_csv)
    assert code == 1 and str(out_csv) in out
    assert rows.to_dict("records")[0]["student"] == "alice"
    assert rows.to_dict("records")[0]["verdict"] == "fail"
    assert rows.to_dict("records")[0]["worst_class"] == "mel"


# --- unusable input ---------------------------------------------------------------


def text_file(path, text):
    path.write_text(text)
    return path


def empty_folder(path):
    path.mkdir()
    return path


def garbage_binary(path):
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(128, 256)) * 4)  # e.g. a plot saved as .csv
    return path


def shuffled_labels_cm(path):
    swapped = list(CLASS_CODES)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    return write_cm(path, REFERENCE, index=swapped)


def bad_entry_cm(path, value):
    counts = REFERENCE.astype(object)
    counts[CLASS["df"], CLASS["mel"]] = value
    return write_cm(path, counts)


UNUSABLE = {
    "missing file": (lambda p: p / "nowhere" / "confusion_matrix.csv", "missing file"),
    "empty folder": (lambda p: empty_folder(p / "empty_run"),
                     "no confusion_matrix.csv and no student folders found"),
    "6x7": (lambda p: write_cm(p / "m.csv", REFERENCE[:6], index=CLASS_CODES[:6]), "got 6x7"),
    "7x6": (lambda p: write_cm(p / "m.csv", REFERENCE[:, :6], columns=CLASS_CODES[:6]), "got 7x6"),
    "misordered rows": (lambda p: shuffled_labels_cm(p / "m.csv"), "misordered row labels"),
    "misordered columns": (
        lambda p: write_cm(p / "m.csv", REFERENCE, columns=list(reversed(CLASS_CODES))),
        "misordered column labels"),
    "wrong labels": (
        lambda p: write_cm(p / "m.csv", REFERENCE, index=[str(i) for i in range(7)]),
        "wrong row labels"),
    "negative": (lambda p: bad_entry_cm(p / "m.csv", -3), "negative entry"),
    "non-integer": (lambda p: bad_entry_cm(p / "m.csv", 2.5), "non-integer entry"),
    "non-numeric": (lambda p: bad_entry_cm(p / "m.csv", "many"), "non-numeric"),
    "empty cell": (lambda p: bad_entry_cm(p / "m.csv", ""), "non-numeric or empty"),
    "garbage text": (
        lambda p: text_file(p / "m.csv", "hello world\nthis is not a matrix\n"),
        "no comma-separated columns"),
    "garbage binary": (lambda p: garbage_binary(p / "m.csv"), "CSV file"),
    "empty file": (lambda p: text_file(p / "m.csv", ""), "not a CSV file"),
    "ragged rows": (
        lambda p: text_file(p / "m.csv", "true,akiec\nakiec,1,2,3\n"),
        "not a readable CSV"),
}


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_unusable_submission_exits_2_with_one_line(capsys, reference, tmp_path, case):
    make, fragment = UNUSABLE[case]
    bad = make(tmp_path)
    code, out, err = grade(capsys, reference, bad)
    assert code == 2
    assert_one_line_error(err, "--submission", fragment, bad.name)
    assert "PASS" not in out and "FAIL" not in out


@pytest.mark.parametrize("case", ["negative", "6x7", "garbage text"])
def test_read_confusion_matrix_raises_grading_input_error(tmp_path, case):
    make, fragment = UNUSABLE[case]
    bad = make(tmp_path)
    with pytest.raises(matrices.RunFileError, match=fragment) as error:
        matrices.read_confusion_matrix(bad)
    assert str(bad) in str(error.value)
    assert isinstance(error.value, ValueError)


def test_entry_error_names_the_cell(tmp_path):
    with pytest.raises(matrices.RunFileError, match="true=df, predicted=mel"):
        matrices.read_confusion_matrix(bad_entry_cm(tmp_path / "m.csv", -1))


def test_malformed_reference_exits_2(capsys, tmp_path):
    bad_reference = bad_entry_cm(tmp_path / "ref.csv", -1)
    code, out, err = grade(capsys, bad_reference, write_cm(tmp_path / "student", REFERENCE))
    assert code == 2
    assert_one_line_error(err, "--reference", "ref.csv", "negative entry")
    assert out == ""


# Each subprocess starts Python and imports pandas and scikit-learn (not PyTorch), so keep these few.
@pytest.mark.parametrize("case", ["6x7", "garbage binary"])
def test_subprocess_unusable_input_has_no_traceback(reference, tmp_path, case):
    make, fragment = UNUSABLE[case]
    bad = make(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "skinkit", "grade", "--reference", str(reference), "--submission", str(bad)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert_one_line_error(result.stderr, fragment, str(bad))


def unlabelled_cm(path, size):
    """A bare size x size block of counts: no header row, no label column."""
    return text_file(path, "\n".join(",".join("1" for _ in range(size)) for _ in range(size)) + "\n")


def test_unlabelled_matrix_says_what_was_read(capsys, reference, tmp_path):
    code, _, err = grade(capsys, reference, unlabelled_cm(tmp_path / "m.csv", 6))
    assert code == 2
    assert_one_line_error(err, "m.csv", "read 6 rows × 6 columns, no class labels in the header")
    assert "5x5" not in err


def test_empty_class_folder_says_no_student_folders(capsys, reference, tmp_path):
    (tmp_path / "class" / ".ipynb_checkpoints").mkdir(parents=True)
    code, _, err = grade(capsys, reference, tmp_path / "class")
    assert code == 2
    assert_one_line_error(err, "class: no confusion_matrix.csv and no student folders found")


def test_student_folders_without_matrices_are_each_unusable(capsys, reference, tmp_path):
    for student in ("alice", "bob"):
        (tmp_path / "class" / student).mkdir(parents=True)
    code, out, _ = grade(capsys, reference, tmp_path / "class")
    assert code == 0 and "Graded 2 students: 0 pass, 0 fail, 2 unusable" in out


# --- the run behind the matrix (config.json) ----------------------------------------


RUN = {"stage": "large_finetune", "data_fingerprint": "ab" * 32, "seed": 0, "epochs": 6}


def run_folder(path, counts=REFERENCE, **config):
    """A run folder with confusion_matrix.csv and config.json (RUN with `config`'s changes)."""
    write_cm(path, counts)
    (path / "config.json").write_text(json.dumps({**RUN, **config}))
    return path


@pytest.mark.parametrize("change, named", [
    ({"stage": "small_frozen"}, "stage small_frozen (reference large_finetune)"),
    ({"data_fingerprint": "cd" * 32}, "data fingerprint cdcdcdcdcdcd… (reference abababababab…)"),
    ({"seed": 1}, "seed 1 (reference 0)")])
def test_a_different_run_fails_even_when_the_matrices_agree(capsys, tmp_path, change, named):
    reference = run_folder(tmp_path / "reference")
    code, out, _ = grade(capsys, reference, run_folder(tmp_path / "student", **change))
    assert code == 1
    assert f"FAIL: not the same run as the reference: {named}" in out


def test_the_same_run_with_other_settings_recorded_passes(capsys, tmp_path):
    reference = run_folder(tmp_path / "reference")
    code, out, _ = grade(capsys, reference, run_folder(tmp_path / "student", epochs=5, device="cuda"))
    assert code == 0 and "PASS" in out


def test_without_a_config_on_one_side_only_the_matrices_count(capsys, tmp_path):
    reference = run_folder(tmp_path / "reference")
    code, _, _ = grade(capsys, reference, write_cm(tmp_path / "student", REFERENCE))
    assert code == 0


def test_a_different_run_and_a_recall_gap_are_both_reported(capsys, tmp_path):
    reference = run_folder(tmp_path / "reference")
    student = run_folder(tmp_path / "student", moved(REFERENCE, "mel", 10), stage="small_finetune")
    code, out, _ = grade(capsys, reference, student)
    assert code == 1 and "stage small_finetune" in out and "outside tolerance 0.05: mel" in out


def test_class_mode_fails_a_student_who_handed_in_another_stage(capsys, tmp_path):
    reference = run_folder(tmp_path / "reference")
    run_folder(tmp_path / "class" / "alice")
    run_folder(tmp_path / "class" / "bob", stage="small_frozen")
    code, _, _ = grade(capsys, reference, tmp_path / "class")
    verdicts = pd.read_csv(tmp_path / "class" / "verdicts.csv").set_index("student")
    assert code == 0 and verdicts["verdict"].to_dict() == {"alice": "pass", "bob": "fail"}
    assert "stage small_frozen (reference large_finetune)" in verdicts.at["bob", "reason"]


def test_unreadable_config_is_unusable_input(capsys, tmp_path):
    reference = run_folder(tmp_path / "reference")
    student = run_folder(tmp_path / "student")
    (student / "config.json").write_text("{not json")
    code, _, err = grade(capsys, reference, student)
    assert code == 2
    assert_one_line_error(err, "--submission", "config.json: not a readable JSON file")


# --- class mode -------------------------------------------------------------------


@pytest.fixture
def class_folder(tmp_path):
    folder = tmp_path / "class"
    write_cm(folder / "alice", moved(REFERENCE, "bcc", 2))       # bcc -0.04: within 0.05
    write_cm(folder / "bob", moved(REFERENCE, "mel", 10))        # mel -0.09: outside
    write_cm(folder / "carol" / "confusion_matrix.csv", REFERENCE[:6], index=CLASS_CODES[:6])
    (folder / ".ipynb_checkpoints").mkdir()                      # hidden: not a student
    return folder


def test_is_class_folder(class_folder, reference):
    assert students.is_class_folder(class_folder)
    assert not students.is_class_folder(class_folder / "alice")   # a run folder
    assert not students.is_class_folder(reference / "confusion_matrix.csv")


def test_class_mode_writes_verdicts(capsys, reference, class_folder):
    code, out, err = grade(capsys, reference, class_folder)
    verdicts_path = class_folder / "verdicts.csv"
    verdicts = pd.read_csv(verdicts_path, keep_default_na=False).set_index("student")
    assert code == 0 and err == ""
    assert list(verdicts.columns) == ["verdict", "balanced_accuracy_difference", "worst_class", "reason",
                                      "student_id", "late", "roster"]
    assert list(verdicts.index) == ["alice", "bob", "carol"]
    assert verdicts["verdict"].to_dict() == {"alice": "pass", "bob": "fail", "carol": "unusable"}
    assert verdicts.at["alice", "worst_class"] == "bcc"
    assert verdicts.at["bob", "worst_class"] == "mel"
    assert verdicts.at["carol", "worst_class"] == ""
    assert float(verdicts.at["bob", "balanced_accuracy_difference"]) == pytest.approx(
        sklearn_balanced_accuracy(moved(REFERENCE, "mel", 10)) - sklearn_balanced_accuracy(REFERENCE))
    assert "got 6x7" in verdicts.at["carol", "reason"] and "carol" in verdicts.at["carol", "reason"]
    assert str(verdicts_path) in out
    student_lines = [line for line in out.splitlines() if line.split(":")[0] in {"alice", "bob", "carol"}]
    assert [line.split(":")[1].split()[0] for line in student_lines] == ["PASS", "FAIL", "UNUSABLE"]


def test_class_mode_custom_out_and_tolerance(capsys, reference, class_folder, tmp_path):
    out_csv = tmp_path / "grades.csv"
    code, out, _ = grade(capsys, reference, class_folder, "--tolerance", "0.1", "--out", str(out_csv))
    verdicts = pd.read_csv(out_csv).set_index("student")
    assert code == 0
    assert verdicts["verdict"].to_dict() == {"alice": "pass", "bob": "pass", "carol": "unusable"}
    assert not (class_folder / "verdicts.csv").exists()
    assert str(out_csv) in out


def test_class_mode_student_without_matrix_is_unusable(capsys, reference, class_folder):
    (class_folder / "dave").mkdir()
    code, _, _ = grade(capsys, reference, class_folder)
    verdicts = pd.read_csv(class_folder / "verdicts.csv").set_index("student")
    assert code == 0
    assert verdicts.at["dave", "verdict"] == "unusable"
    assert "missing file" in verdicts.at["dave", "reason"]


def test_class_mode_with_unusable_reference_exits_2(capsys, tmp_path, class_folder):
    code, _, err = grade(capsys, tmp_path / "no_reference", class_folder)
    assert code == 2
    assert_one_line_error(err, "--reference", "missing file")
    assert not (class_folder / "verdicts.csv").exists()


def test_class_mode_out_folder_is_created_before_grading(capsys, reference, class_folder, tmp_path):
    code, _, _ = grade(capsys, reference, class_folder, "--out", str(tmp_path / "no" / "dir" / "v.csv"))
    assert code == 0 and len(pd.read_csv(tmp_path / "no" / "dir" / "v.csv")) == 3


def test_class_mode_unusable_out_exits_2_before_grading(capsys, reference, class_folder, tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    code, out, err = grade(capsys, reference, class_folder, "--out", str(tmp_path / "a_file" / "v.csv"))
    assert code == 2 and out == ""
    assert_one_line_error(err, "grade: ", "--out")


def test_grade_class_api(reference, class_folder, tmp_path):
    verdicts = gradebook.grade_class(reference, class_folder, tolerance=0.05, out=tmp_path / "v.csv")
    assert list(verdicts.columns) == list(gradebook.VERDICT_COLUMNS)
    assert verdicts.set_index("student")["verdict"].to_dict() == {
        "alice": "pass", "bob": "fail", "carol": "unusable"}
    assert pd.read_csv(tmp_path / "v.csv")["student"].tolist() == ["alice", "bob", "carol"]


def test_add_arguments_and_run_for_the_skinkit_cli(reference, tmp_path):
    import argparse

    parser = cli.add_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["--reference", str(reference),
                              "--submission", str(write_cm(tmp_path / "s", REFERENCE))])
    assert args.tolerance == DEFAULT_TOLERANCE and args.out is None
    assert cli.run(args) == 0
