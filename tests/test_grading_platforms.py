"""A class as an instructor grades it: hostile names and archives, platform import files, start-up checks."""

import csv
import json
import re
import zipfile

import numpy as np
import pandas as pd
import pytest

from skinkit import confusion
from skinkit.classes import CLASS_CODES
from skinkit.confusion import RunFileError
from skinkit.grading import archives, spreadsheet
from skinkit.grading.errors import GradingInputError
from skinkit.grading.verdicts import run_mismatch

from .helpers import fresh_python, load_script
from .isic_fixtures import zip_bytes
from .test_grading import REFERENCE, grade, moved, write_cm
from .test_grading_classes import canvas_class, matrix_bytes, runs_files, write_tree

benchmark = load_script("grading_benchmark")
FORMULA = re.compile(r"^[=+@\t\r]|^-(?!\d|\.\d)")  # OWASP's formula starts; "-" is fine before a number


@pytest.fixture
def reference(tmp_path):
    """The instructor's runs/ folder: four stages."""
    return write_tree(tmp_path / "reference", runs_files(prefix=""))


def csv_cells(path):
    """Every cell of a CSV file as the text a spreadsheet reads, headers included."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


# --- a hostile class, graded in one run -------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    """The benchmark's class of 3 plus its honest odd names and hostile uploads (a 20 MiB stored zip)."""
    folder = tmp_path_factory.mktemp("hostile")
    return benchmark.build_class(folder, 3, hostile=True, bomb_mib=20)


def test_a_hostile_class_is_graded_in_one_run(capsys, hostile_class, tmp_path):
    reference_runs, submissions = hostile_class
    out = tmp_path / "deep" / "new" / "gradebook.csv"  # a folder that does not exist yet
    code, _, err = grade(capsys, reference_runs, submissions, "--out", str(out), "--feedback", str(tmp_path / "fb"))
    book = pd.read_csv(out, dtype={"student_id": str}, keep_default_na=False).set_index("student_id")
    assert code == 0 and err == ""
    honest = [str(number) for number in range(3001, 3013)]  # the odd names, one zip with backslash paths
    assert (book.loc[honest, "passed"] == 4).all(), book.loc[honest, ["passed", "reason"]]
    assert book.at["3010", "late"] == "late" and (book.drop("3010")["late"] == "").all()
    hostile = [str(number) for number in range(4001, 4009)]
    assert (book.loc[hostile, "passed"] < 4).all()
    for student_id in ("4001", "4002", "4003"):  # refused on the one damaged stage, the others pass
        assert book.at[student_id, "large_frozen_verdict"] == "unusable" and book.at[student_id, "passed"] == 3
    for student_id in ("4004", "4005"):
        assert "only .zip archives are read" in book.at[student_id, "reason"]
    assert len(list((tmp_path / "fb").iterdir())) == len(book)
    assert not [cell for cell in csv_cells(out) if FORMULA.match(cell)]


def test_a_zip_expanding_a_hundredfold_is_refused_from_its_sizes(capsys, reference, tmp_path):
    uploads = {"bomb_1_1_runs.zip": benchmark.bomb_upload(tmp_path, 20), "jane_2_1_runs.zip": zip_bytes(runs_files())}
    (tmp_path / "class.zip").write_bytes(zip_bytes(uploads, zipfile.ZIP_STORED))
    code, _, _ = grade(capsys, reference, tmp_path / "class.zip", "--out", str(tmp_path / "book.csv"))
    book = pd.read_csv(tmp_path / "book.csv").set_index("student")
    assert code == 0 and book.at["jane", "passed"] == 4 and book.at["bomb", "passed"] == 0
    assert "zip bomb" in book.at["bomb", "reason"]


def test_a_zip_inside_a_zip_past_its_cap_is_refused_from_its_size(capsys, reference, tmp_path, monkeypatch):
    uploads = {"big_1_1_runs.zip": zip_bytes({"runs.zip": zip_bytes({**runs_files(), "pad": bytes(2 << 20)},
                                                                    zipfile.ZIP_STORED)}),
               "jane_2_1_runs.zip": zip_bytes(runs_files())}
    (tmp_path / "class.zip").write_bytes(zip_bytes(uploads, zipfile.ZIP_STORED))
    monkeypatch.setattr(archives, "MAX_NESTED_ZIP_BYTES", 1 << 20)  # runs.zip is 2 MiB, the uploads are small
    code, _, _ = grade(capsys, reference, tmp_path / "class.zip", "--out", str(tmp_path / "book.csv"))
    book = pd.read_csv(tmp_path / "book.csv").set_index("student")
    assert code == 0 and book.at["jane", "passed"] == 4 and book.at["big", "passed"] == 0
    assert "past the cap of 1048576" in book.at["big", "reason"]


def test_a_stored_zip_past_the_caps_is_refused_for_its_student_only(capsys, reference, tmp_path):
    upload = benchmark.bomb_upload(tmp_path, 20, benchmark.DENSE_RANDOM_BYTES)
    uploads = {"bomb_1_1_runs.zip": upload, "jane_2_1_runs.zip": zip_bytes(runs_files())}
    (tmp_path / "class.zip").write_bytes(zip_bytes(uploads, zipfile.ZIP_STORED))
    archives_cap = archives.MAX_UNCOMPRESSED_BYTES
    try:
        archives.MAX_UNCOMPRESSED_BYTES = 30 << 20  # the 20 MiB zip and its 20 MiB member pass it together
        code, _, _ = grade(capsys, reference, tmp_path / "class.zip", "--out", str(tmp_path / "book.csv"))
    finally:
        archives.MAX_UNCOMPRESSED_BYTES = archives_cap
    book = pd.read_csv(tmp_path / "book.csv").set_index("student")
    assert code == 0 and book.at["jane", "passed"] == 4 and book.at["bomb", "passed"] == 0
    assert "expands past" in book.at["bomb", "reason"]


def test_a_nested_zip_is_streamed_never_read_whole(capsys, reference, tmp_path, monkeypatch):
    padding = bytes(8 << 20)
    inner = zip_bytes({**runs_files(), "runs/padding.bin": padding}, zipfile.ZIP_STORED)
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "jane_1_1_runs.zip").write_bytes(zip_bytes({"runs.zip": inner}))
    reads = []
    original = zipfile.ZipExtFile.read

    def recorded(self, n=-1):
        reads.append(n)
        return original(self, n)

    monkeypatch.setattr(zipfile.ZipExtFile, "read", recorded)
    code, out, _ = grade(capsys, reference, tmp_path / "class")
    assert code == 0 and "jane: 4/4 stages passed" in out
    assert reads and -1 not in reads and max(reads) <= 2 << 20 < len(inner)


def test_a_million_columns_are_refused_from_a_count_without_parsing(monkeypatch):
    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed")

    monkeypatch.setattr(confusion.pd, "read_csv", no_parsing)
    for data in (b"," * ((1 << 20) - 1), b"\n" * ((1 << 20) - 1), b"true" + b",0" * 100 + b"\n"):
        with pytest.raises(RunFileError, match="wrong shape"):
            confusion.confusion_matrix_from_bytes(data, "m.csv")


def test_a_matrix_of_the_right_shape_is_still_parsed():
    parsed = confusion.confusion_matrix_from_bytes(matrix_bytes(REFERENCE), "m.csv")
    assert parsed.to_numpy().tolist() == np.asarray(REFERENCE).tolist()


def test_other_archives_in_a_class_folder_are_named(capsys, tmp_path):
    reference_run = write_cm(tmp_path / "ref", REFERENCE).parent
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "ann_1_1_runs.tar.gz").write_bytes(b"\x1f\x8b" + bytes(30))
    (tmp_path / "class" / "bo_2_1_runs.rar").write_bytes(b"Rar!" + bytes(30))
    write_cm(tmp_path / "class" / "cy_3_1_run", REFERENCE)
    code, _, _ = grade(capsys, reference_run, tmp_path / "class")
    verdicts = pd.read_csv(tmp_path / "class" / "verdicts.csv").set_index("student")
    assert code == 0 and verdicts["verdict"].to_dict() == {"ann": "unusable", "bo": "unusable", "cy": "pass"}
    assert verdicts.loc[["ann", "bo"], "reason"].str.contains("only .zip archives are read").all()


def test_a_tar_in_a_moodle_folder_is_named(capsys, reference, tmp_path):
    uploads = {"Jane Smith_1001_assignsubmission_file_/runs.zip": zip_bytes(runs_files()),
               "Bo Li_1002_assignsubmission_file_/runs.tar.gz": b"\x1f\x8b" + bytes(30)}
    (tmp_path / "moodle.zip").write_bytes(zip_bytes(uploads, zipfile.ZIP_STORED))
    code, _, _ = grade(capsys, reference, tmp_path / "moodle.zip", "--out", str(tmp_path / "book.csv"))
    book = pd.read_csv(tmp_path / "book.csv").set_index("student")
    assert code == 0 and book.at["Jane Smith", "passed"] == 4 and book.at["Bo Li", "passed"] == 0
    assert "only .zip archives are read" in book.at["Bo Li", "reason"]


# --- spreadsheet safety ----------------------------------------------------------------------


@pytest.mark.parametrize("text, safe", [
    ("=1+1", False), ("+1", False), ("@SUM(A1)", False), ("-2+3", False), ("\t=1", False), ("-", False),
    ("-0.25", True), ("-3", True), ("-.5", True), ("1e-3", True), ("Jane", True), ("", True)])
def test_a_cell_is_quoted_exactly_when_a_spreadsheet_would_compute_it(text, safe):
    written = spreadsheet.safe_cell(text)
    assert (written == text) is safe
    assert not FORMULA.match(written)


def test_numbers_stay_numbers():
    table = spreadsheet.safe_table(pd.DataFrame({"=x": ["=cmd"], "d": [-0.5]}))
    assert list(table.columns) == ["'=x", "d"] and table.at[0, "d"] == -0.5 and table.at[0, "'=x"] == "'=cmd"


# --- platform files --------------------------------------------------------------------------


@pytest.fixture
def canvas_roster(tmp_path):
    """Canvas's gradebook export: a "Points Possible" row, then students (Sam Kim, 1004, has not handed in)."""
    path = tmp_path / "canvas_export.csv"
    path.write_text("Student,ID,SIS User ID,SIS Login ID,Section,Runs (77)\n"
                    "    Points Possible,,,,,10\n"
                    "\"Smith, Jane\",1001,S1001,jsmith,Sec A,\n"
                    "\"Doe, John\",1002,S1002,jdoe,Sec B,\n"
                    "\"Lee, Ann\",1003,S1003,alee,Sec A,\n"
                    "\"Kim, Sam\",1004,S1004,skim,Sec B,\n", encoding="utf-8")
    return path


def test_the_canvas_file_has_canvas_columns_and_scaled_scores(capsys, reference, tmp_path, canvas_roster):
    out = tmp_path / "canvas.csv"
    extra = {"stranger_1009_5009_runs.zip": zip_bytes(runs_files())}
    code, _, err = grade(capsys, reference, canvas_class(tmp_path, extra), "--format", "canvas", "--assignment",
                         "Runs (77)", "--points", "10", "--roster", str(canvas_roster), "--out", str(out),
                         "--tolerance", "0.04")
    table = pd.read_csv(out, dtype=str, keep_default_na=False).set_index("ID")
    assert code == 0
    assert list(pd.read_csv(out).columns) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Runs (77)"]
    # Jane passes 4 of 4, John 3 (df off by one image), Ann 2 (mel moved; small_finetune missing), Sam 0 (seed)
    scores = {"1001": 10.0, "1002": 7.5, "1003": 5.0, "1004": 0.0, "1009": 10.0}
    assert {key: float(value) for key, value in table["Runs (77)"].items()} == scores
    assert table.loc["1002", ["Student", "SIS User ID", "SIS Login ID", "Section"]].tolist() == [
        "Doe, John", "S1002", "jdoe", "Sec B"]
    assert [line.split(":")[1].strip() for line in err.splitlines()] == ["warning"]
    assert "1 submissions not on the roster" in err and "stranger" in err


def moodle_class(tmp_path):
    """Moodle's "download all submissions": a folder per student, a name with an underscore and a colon."""
    uploads = {"Jane Smith_1001_assignsubmission_file_/runs.zip": zip_bytes(runs_files()),
               "Mary_Ann: O'Neil_1002_assignsubmission_file_/runs.zip":
                   zip_bytes(runs_files({"small_frozen": moved(REFERENCE, "mel", 10)})),
               "alice_without_id/runs.zip": zip_bytes(runs_files())}
    path = tmp_path / "moodle.zip"
    path.write_bytes(zip_bytes(uploads, zipfile.ZIP_STORED))
    return path


def moodle_participant(member):
    """The participant number Moodle's feedback-zip import reads from a member name, or None.

    Written from Moodle's rule: the first path part split on "_" into at most five pieces is
    name, participant id, plugin type, plugin name and the rest.
    """
    info = member.split("/")[0].split("_", 4)
    if len(info) < 4 or not info[1].isdigit() or info[2:4] != ["assignfeedback", "file"]:
        return None
    return info[1]


def test_the_moodle_worksheet_and_feedback_zip(capsys, reference, tmp_path):
    out, feedback_zip = tmp_path / "worksheet.csv", tmp_path / "zips" / "feedback.zip"
    code, _, err = grade(capsys, reference, moodle_class(tmp_path), "--format", "moodle", "--points", "100",
                         "--out", str(out), "--feedback-zip", str(feedback_zip))
    table = pd.read_csv(out, keep_default_na=False).set_index("Identifier")
    assert code == 0 and "1 students have no id" in err and "alice_without_id" in err
    assert {"Identifier", "Full name", "Grade", "Feedback comments"} <= {table.index.name, *table.columns}
    assert table["Grade"].to_dict() == {"Participant 1001": 100.0, "Participant 1002": 75.0}
    assert table.at["Participant 1002", "Feedback comments"].startswith("3 of 4 stages passed")
    with zipfile.ZipFile(feedback_zip) as archive:
        names = archive.namelist()
        assert sorted(moodle_participant(name) for name in names) == ["1001", "1002"]
        assert all(name.endswith("/feedback.md") for name in names)
        assert "small_frozen: fail" in archive.read(next(n for n in names if moodle_participant(n) == "1002")).decode()


def test_a_roster_records_strangers_and_absentees(capsys, reference, tmp_path):
    path = tmp_path / "roster.csv"
    pd.DataFrame({"Student": ["Jane Smith", "Eve Absent"], "ID": ["1001", "1099"]}).to_csv(path, index=False)
    code, _, err = grade(capsys, reference, canvas_class(tmp_path), "--roster", str(path),
                         "--out", str(tmp_path / "book.csv"))
    book = pd.read_csv(tmp_path / "book.csv", dtype={"student_id": str}, keep_default_na=False).set_index("student_id")
    assert code == 0 and len(err.strip().splitlines()) == 2
    assert book["roster"].to_dict() == {"1001": "", "1002": "not on roster", "1003": "not on roster",
                                        "1004": "not on roster", "1099": "no submission"}


# --- start-up checks and messages --------------------------------------------------------------


PROBE = """
import json, sys
from skinkit.__main__ import main
status = main(json.loads(sys.argv[1]))
print(json.dumps({"status": status, "loaded": [m for m in ("torch", "onnxruntime") if m in sys.modules]}))
"""


def test_grade_starts_without_torch_or_onnxruntime(tmp_path):
    reference_run = write_cm(tmp_path / "ref", REFERENCE).parent
    argv = ["grade", "--reference", str(reference_run), "--submission", str(reference_run)]
    probe = json.loads(fresh_python(PROBE, json.dumps(argv)).stdout.splitlines()[-1])
    assert probe == {"status": 0, "loaded": []}


def test_a_seed_written_as_text_fails_and_says_so():
    reason = run_mismatch({"seed": 0}, {"seed": "0"})
    assert reason and '"0"' in reason


def test_a_checkpoint_error_gives_no_unsafe_advice(tmp_path):
    import argparse

    import torch

    from skinkit.errors import CheckpointError
    from skinkit.training.run_folders import load_checkpoint

    path = tmp_path / "evil.pt"
    torch.save({"payload": argparse.Namespace(command="anything")}, path)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert "weights_only" not in str(caught.value)


def test_a_damaged_matrix_in_a_run_folder_is_a_run_file_error_not_a_grading_one(tmp_path):
    bad = write_cm(tmp_path / "run", REFERENCE[:6], index=CLASS_CODES[:6]).parent
    with pytest.raises(RunFileError) as caught:
        confusion.read_confusion_matrix(bad)
    assert not isinstance(caught.value, GradingInputError) and caught.value.title == "Unusable run file"
