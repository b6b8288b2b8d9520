"""Grading a whole class as it arrives: runs/ folders, platform zips opened safely, gradebook, feedback."""

import io
import json
import stat
import zipfile
from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import pytest

from skinkit.classes import CLASS_CODES
from skinkit.grading import archives, students

from .helpers import load_script
from .isic_fixtures import zip_bytes  # {name or ZipInfo: bytes} -> zip bytes
from .test_grading import REFERENCE, RUN, grade, moved, sklearn_balanced_accuracy

STAGES = ("large_frozen", "large_finetune", "small_frozen", "small_finetune")


def matrix_bytes(counts):
    """A confusion_matrix.csv as a training run writes it."""
    frame = pd.DataFrame(counts, index=list(CLASS_CODES), columns=list(CLASS_CODES))
    return frame.to_csv(index_label="true").encode()


def runs_files(counts=None, stages=STAGES, prefix="runs/", **config):
    """{path: bytes} of a runs/ folder: per stage config.json and confusion_matrix.csv (`counts` per stage)."""
    counts = counts or {}
    files = {}
    for stage in stages:
        created = f"2026-01-0{STAGES.index(stage) + 1}T12:00:00"  # the reference's stages ran in STAGES order
        files[f"{prefix}{stage}/config.json"] = json.dumps({**RUN, "stage": stage, "created": created,
                                                            **config}).encode()
        files[f"{prefix}{stage}/confusion_matrix.csv"] = matrix_bytes(counts.get(stage, REFERENCE))
    return files


def write_tree(root, files):
    """Write {path: bytes} below `root`; returns root."""
    for relative, data in files.items():
        path = Path(root, relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return Path(root)


@pytest.fixture
def reference(tmp_path):
    """The instructor's runs/ folder: four stages, plus a copy the kit moved aside."""
    root = write_tree(tmp_path / "reference", runs_files(prefix=""))
    aside = {path.replace("large_finetune/", "large_finetune-20250101-120000/"): data
             for path, data in runs_files(stages=["large_finetune"], prefix="").items()}
    return write_tree(root, aside)


# --- whole runs folders -----------------------------------------------------------


def test_a_whole_runs_folder_is_graded_stage_by_stage(capsys, reference, tmp_path):
    student = write_tree(tmp_path / "alice", runs_files({"small_frozen": moved(REFERENCE, "mel", 10)},
                                                        stages=STAGES[:3]))
    code, out, _ = grade(capsys, reference, student / "runs", "--out", str(tmp_path / "one.csv"))
    assert code == 1
    assert "== large_frozen ==" in out and "PASS" in out
    assert "FAIL: outside tolerance 0.05: mel" in out
    assert "MISSING: no folder named small_finetune" in out
    row = pd.read_csv(tmp_path / "one.csv").iloc[0]
    assert row["large_frozen_verdict"] == "pass" and row["small_frozen_verdict"] == "fail"
    assert row["small_finetune_verdict"] == "missing"
    assert row["passed"] == 2 and row["stages"] == 4  # the moved-aside copy is no stage
    assert row["reason"].startswith("small_frozen: fail: outside tolerance")


def test_a_complete_runs_folder_passes(capsys, reference, tmp_path):
    student = write_tree(tmp_path / "bob", runs_files())
    code, out, _ = grade(capsys, reference, student / "runs")
    assert code == 0 and "4 of 4 stages passed" in out


def test_a_stage_in_the_wrong_folder_fails_on_its_config(capsys, reference, tmp_path):
    files = runs_files()
    files["runs/large_finetune/config.json"] = json.dumps({**RUN, "stage": "small_frozen"}).encode()
    code, out, _ = grade(capsys, reference, write_tree(tmp_path / "carol", files) / "runs")
    assert code == 1
    assert "not the same run as the reference: stage small_frozen (reference large_finetune)" in out


def test_a_reference_without_stage_folders_is_unusable(capsys, tmp_path):
    (tmp_path / "empty_runs" / "notes").mkdir(parents=True)
    code, out, err = grade(capsys, tmp_path / "empty_runs", tmp_path)
    assert code == 2 and out == ""
    assert "--reference" in err and "no stage folders" in err


# --- a class archive as a learning platform exports it ------------------------------


def canvas_class(tmp_path, extra=None):
    """submissions.zip as Canvas exports it: one zip per student, named name_userid_submissionid_file."""
    uploads = {
        "smithjane_1001_5001_runs.zip": zip_bytes(runs_files()),
        # df has 20 images: one more wrong moves its recall by 0.05, past a tolerance of 0.04
        "doejohn_LATE_1002_5002_runs.zip": zip_bytes(runs_files({"large_finetune": moved(REFERENCE, "df", 1)})),
        "leeann_1003_5003_runs.zip": zip_bytes(runs_files({"small_frozen": moved(REFERENCE, "mel", 10)},
                                                           stages=STAGES[:3])),
        "kimsam_1004_5004_runs.zip": zip_bytes(runs_files(seed=1)),
        **(extra or {}),
    }
    path = tmp_path / "downloads" / "submissions.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(zip_bytes(uploads, zipfile.ZIP_STORED))
    return path


@pytest.fixture
def roster(tmp_path):
    path = tmp_path / "roster.csv"
    pd.DataFrame({"Student": ["Jane Smith", "John Doe", "Ann Lee", "Sam Kim", "Max Absent"],
                  "ID": ["1001", "1002", "1003", "1004", "1005"]}).to_csv(path, index=False)
    return path


def test_a_platform_archive_grades_into_a_gradebook_and_feedback(capsys, reference, tmp_path, roster):
    archive = canvas_class(tmp_path)
    out, feedback = tmp_path / "gradebook.csv", tmp_path / "feedback"
    code, printed, err = grade(capsys, reference, archive, "--out", str(out), "--feedback", str(feedback),
                               "--roster", str(roster), "--tolerance", "0.04")
    assert code == 0 and err.splitlines() == [
        "grade: warning: 1 roster students handed in nothing (every stage missing): Max Absent"]
    book = pd.read_csv(out, keep_default_na=False, dtype={"student_id": str}).set_index("student")
    per_stage = [f"{stage}_{column}" for stage in STAGES for column in ("verdict", "balanced_accuracy_difference")]
    assert list(book.columns) == [*per_stage, "passed", "stages", "reason", "student_id", "late", "roster"]
    assert book["late"].to_dict() == {"Jane Smith": "", "John Doe": "late", "Ann Lee": "", "Sam Kim": "",
                                      "Max Absent": ""}
    assert book.at["Max Absent", "roster"] == "no submission" and (book["roster"].drop("Max Absent") == "").all()
    assert sorted(book.index) == ["Ann Lee", "Jane Smith", "John Doe", "Max Absent", "Sam Kim"]
    assert book.loc["Jane Smith", [f"{s}_verdict" for s in STAGES]].tolist() == ["pass"] * 4
    assert book.at["John Doe", "large_finetune_verdict"] == "fail" and book.at["John Doe", "passed"] == 3
    assert book.at["Ann Lee", "small_finetune_verdict"] == "missing"
    assert book.at["Ann Lee", "small_frozen_verdict"] == "fail"
    assert book.at["Sam Kim", "passed"] == 0 and "seed 1 (reference 0)" in book.at["Sam Kim", "reason"]
    assert book.loc["Max Absent", [f"{s}_verdict" for s in STAGES]].tolist() == ["missing"] * 4
    assert book.at["Jane Smith", "student_id"] == "1001" and (book["stages"] == 4).all()
    expected = sklearn_balanced_accuracy(moved(REFERENCE, "mel", 10)) - sklearn_balanced_accuracy(REFERENCE)
    assert float(book.at["Ann Lee", "small_frozen_balanced_accuracy_difference"]) == pytest.approx(expected)
    assert book.at["Ann Lee", "small_finetune_balanced_accuracy_difference"] == ""
    assert "Graded 5 students on 4 stages" in printed
    assert sorted(p.name for p in feedback.iterdir()) == [
        "Ann_Lee_1003.md", "Jane_Smith_1001.md", "John_Doe_1002.md", "Max_Absent_1005.md", "Sam_Kim_1004.md"]


def test_without_a_roster_names_come_from_the_file_names(capsys, reference, tmp_path):
    code, _, _ = grade(capsys, reference, canvas_class(tmp_path))
    book = pd.read_csv(tmp_path / "downloads" / "gradebook.csv").set_index("student")
    assert code == 0 and sorted(book.index) == ["doejohn", "kimsam", "leeann", "smithjane"]


@pytest.mark.parametrize("entry, expected", [
    ("smithjane_1001_5001_runs.zip", ("smithjane", "1001", False)),
    ("doejohn_LATE_1002_5002_runs.zip", ("doejohn", "1002", True)),
    ("doejohn_late_1002_5002_runs 12:30.zip", ("doejohn", "1002", True)),
    ("Jane Smith_1001_assignsubmission_file_", ("Jane Smith", "1001", False)),
    ("Zoë \\ O'Brien: 🎓_1001_assignsubmission_file_", ("Zoë \\ O'Brien: 🎓", "1001", False)),
    ("line\nbreak\x00_7_8_x.zip", ("line break", "7", False)),
    ("alice.zip", ("alice", "", False)),
    ("team_1", ("team_1", "", False))])
def test_the_student_naming_rule(entry, expected):
    assert students.name_and_id(entry) == expected


def test_feedback_says_what_a_fail_most_likely_means(capsys, reference, tmp_path, roster):
    feedback = tmp_path / "feedback"
    grade(capsys, reference, canvas_class(tmp_path), "--feedback", str(feedback), "--roster", str(roster),
          "--tolerance", "0.04")
    one_image = (feedback / "John_Doe_1002.md").read_text()
    assert "## large_finetune: fail" in one_image and "| df | 0.750 | 0.700 | -0.050 |" in one_image
    assert "off, by a single image (df has 20 validation images)" in one_image
    assert "another seed" in (feedback / "Sam_Kim_1004.md").read_text()
    assert "learned differently" in (feedback / "Ann_Lee_1003.md").read_text()
    assert "## small_finetune: missing" in (feedback / "Ann_Lee_1003.md").read_text()
    assert "4 of 4 stages passed" in (feedback / "Jane_Smith_1001.md").read_text()


def test_feedback_names_another_split(capsys, reference, tmp_path):
    counts = REFERENCE.copy()
    counts[0, 0] += 1
    code, _, _ = grade(capsys, reference, write_tree(tmp_path / "split", runs_files({"small_frozen": counts})) / "runs",
                       "--feedback", str(tmp_path / "fb"))
    assert code == 1 and "another split" in (tmp_path / "fb" / "split.md").read_text()


def test_a_moodle_archive_of_student_folders(capsys, reference, tmp_path):
    moodle = {f"Jane Smith_2001_assignsubmission_file_/{path}": data for path, data in runs_files().items()}
    moodle["John Doe_2002_assignsubmission_file_/runs.zip"] = zip_bytes(runs_files())
    archive = tmp_path / "moodle.zip"
    archive.write_bytes(zip_bytes(moodle))
    code, out, _ = grade(capsys, reference, archive, "--out", str(tmp_path / "book.csv"))
    book = pd.read_csv(tmp_path / "book.csv").set_index("student")
    assert code == 0 and book["passed"].to_dict() == {"Jane Smith": 4, "John Doe": 4}


def test_a_folder_of_zips_with_a_one_stage_reference_keeps_the_verdicts_table(capsys, tmp_path):
    reference = write_tree(tmp_path / "ref", runs_files(prefix="", stages=["large_finetune"])) / "large_finetune"
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice_11_1_runs.zip").write_bytes(zip_bytes(runs_files()))
    (folder / "bob_12_1_runs.zip").write_bytes(zip_bytes(runs_files({"large_finetune": moved(REFERENCE, "mel", 10)})))
    code, out, _ = grade(capsys, reference, folder)
    verdicts = pd.read_csv(folder / "verdicts.csv").set_index("student")
    assert code == 0 and verdicts["verdict"].to_dict() == {"alice": "pass", "bob": "fail"}


def test_a_canvas_upload_of_the_bare_files_is_graded_against_one_stage(capsys, tmp_path):
    reference = write_tree(tmp_path / "ref", runs_files(prefix="", stages=["large_finetune"])) / "large_finetune"
    files = runs_files(stages=["large_finetune"], prefix="")
    archive = tmp_path / "submissions.zip"
    archive.write_bytes(zip_bytes({f"leeann_1003_5003_{name.split('/')[-1]}": data for name, data in files.items()}))
    code, out, _ = grade(capsys, reference, archive)
    assert code == 0 and "leeann: PASS" in out


# --- archives opened safely ---------------------------------------------------------


def symlink_zip():
    info = zipfile.ZipInfo("runs/large_finetune/confusion_matrix.csv")
    info.create_system, info.external_attr = 3, (stat.S_IFLNK | 0o777) << 16
    files = runs_files()
    del files["runs/large_finetune/confusion_matrix.csv"]
    return zip_bytes({**files, info: b"/etc/passwd"})


def small_bomb_zip():
    """A matrix file of a few KB that expands to 8 MiB (past the read cap)."""
    files = runs_files()
    files["runs/large_finetune/confusion_matrix.csv"] = bytes(8 << 20)
    return zip_bytes(files)


def nested_bomb_zip():
    """42.zip-style: copies of one small zip whose members, together, expand past the total cap."""
    inner = zip_bytes({f"layer{i}.bin": bytes(4 << 20) for i in range(16)})
    copies = archives.MAX_UNCOMPRESSED_BYTES // (64 << 20) + 1
    return zip_bytes({**runs_files(), **{f"bomb{i}.zip": inner for i in range(copies)}}, zipfile.ZIP_STORED)


def too_deep_zip():
    deepest = zip_bytes(runs_files())
    for level in range(archives.MAX_ZIP_DEPTH):
        deepest = zip_bytes({f"level{level}.zip": deepest})
    return deepest


UNSAFE = {
    "dot-dot path": (lambda: zip_bytes({**runs_files(), "../../escaped.txt": b"x"}), "unsafe path '../../escaped.txt'"),
    "absolute path": (lambda: zip_bytes({**runs_files(), "/tmp/escaped.txt": b"x"}), "unsafe path '/tmp/escaped.txt'"),
    "backslash dot-dot": (lambda: zip_bytes({**runs_files(), "..\\escaped.txt": b"x"}), "unsafe path"),
    "symlink": (symlink_zip, "a symbolic link in the archive"),
    "zip bomb": (small_bomb_zip, f"past the cap of {1 << 20}"),
    "nested zip bomb": (nested_bomb_zip, f"expands past {archives.MAX_UNCOMPRESSED_BYTES} bytes"),
    "nested too deep": (too_deep_zip, f"zips nested more than {archives.MAX_ZIP_DEPTH} deep"),
    "not a zip": (lambda: b"PK\x03\x04 but not really a zip", "not a readable zip archive"),
}


def tree_state(root):
    """Every path below root with its size (folders as -1)."""
    return {path.relative_to(root).as_posix(): (path.stat().st_size if path.is_file() else -1)
            for path in Path(root).rglob("*")}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_an_unsafe_student_archive_makes_only_that_student_unusable(capsys, reference, tmp_path, monkeypatch,
                                                                    case):
    make, fragment = UNSAFE[case]
    archive = canvas_class(tmp_path, {"mallory_1666_5666_runs.zip": make()})
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    before = tree_state(tmp_path)
    out = tmp_path / "out" / "gradebook.csv"
    out.parent.mkdir()
    code, printed, _ = grade(capsys, reference, archive, "--out", str(out), "--feedback", str(tmp_path / "out" / "fb"))
    book = pd.read_csv(out).set_index("student")
    assert code == 0
    assert (book.loc["mallory", [f"{s}_verdict" for s in STAGES]] == "unusable").all()
    assert fragment in book.at["mallory", "reason"] and "mallory_1666_5666_runs.zip" in book.at["mallory", "reason"]
    assert book.at["smithjane", "passed"] == 4  # the others are graded as usual
    assert "mallory: UNUSABLE: " in printed
    after = {path: size for path, size in tree_state(tmp_path).items() if not path.startswith("out")}
    assert after == before  # nothing was written anywhere else, the class archive included
    assert not any(work.iterdir())


def test_a_symlink_in_a_student_folder_of_a_moodle_archive(capsys, reference, tmp_path):
    info = zipfile.ZipInfo("Eve Doe_2003_assignsubmission_file_/runs/large_frozen/config.json")
    info.create_system, info.external_attr = 3, (stat.S_IFLNK | 0o777) << 16
    moodle = {f"Jane Smith_2001_assignsubmission_file_/{path}": data for path, data in runs_files().items()}
    moodle[info] = b"/etc/passwd"
    (tmp_path / "moodle.zip").write_bytes(zip_bytes(moodle))
    code, _, _ = grade(capsys, reference, tmp_path / "moodle.zip", "--out", str(tmp_path / "book.csv"))
    book = pd.read_csv(tmp_path / "book.csv").set_index("student")
    assert code == 0 and book.at["Jane Smith", "passed"] == 4
    assert "a symbolic link" in book.at["Eve Doe", "reason"]


def test_an_unsafe_top_level_path_refuses_only_that_entry(capsys, reference, tmp_path):
    uploads = {"../outside.zip": zip_bytes(runs_files()), "/abs_9_9_runs.zip": zip_bytes(runs_files()),
               "smithjane_1001_5001_runs.zip": zip_bytes(runs_files())}
    (tmp_path / "bad.zip").write_bytes(zip_bytes(uploads, zipfile.ZIP_STORED))
    code, out, err = grade(capsys, reference, tmp_path / "bad.zip", "--out", str(tmp_path / "book.csv"))
    book = pd.read_csv(tmp_path / "book.csv").set_index("student")
    assert code == 0 and err == ""
    assert book.at["smithjane", "passed"] == 4 and len(book) == 3
    assert (book.drop("smithjane")["passed"] == 0).all()
    assert book.drop("smithjane")["reason"].str.contains("unsafe path").all()


def test_only_the_two_files_are_read_from_an_archive():
    student = zip_bytes({**runs_files(), "runs/large_finetune/best.pt": b"\x80\x04 pickle", "notes.ipynb": b"{}"})
    archive = zipfile.ZipFile(io.BytesIO(student))
    with ExitStack() as stack:
        readers = archives.archive_readers(archive, archives.all_members(archive), "s.zip", 1,
                                           archives.ArchiveLimits(), stack)
        assert sorted(readers) == sorted(runs_files())
        assert readers["runs/large_frozen/config.json"]() == runs_files()["runs/large_frozen/config.json"]


def test_a_zipped_class_folder_is_looked_into(capsys, reference, tmp_path):
    class_zip = {f"class/{student}/{path}": data for student in ("alice", "bob") for path, data in runs_files().items()}
    (tmp_path / "class.zip").write_bytes(zip_bytes(class_zip))
    code, _, _ = grade(capsys, reference, tmp_path / "class.zip", "--out", str(tmp_path / "book.csv"))
    assert code == 0 and pd.read_csv(tmp_path / "book.csv")["student"].tolist() == ["alice", "bob"]


def test_one_students_runs_zip_is_one_student(capsys, reference, tmp_path):
    (tmp_path / "alice.zip").write_bytes(zip_bytes(runs_files()))
    code, _, _ = grade(capsys, reference, tmp_path / "alice.zip", "--out", str(tmp_path / "book.csv"))
    book = pd.read_csv(tmp_path / "book.csv")
    assert code == 0 and book["student"].tolist() == ["runs"] and book["passed"].tolist() == [4]


def test_a_roster_without_id_or_name_column_is_unusable(capsys, reference, tmp_path):
    (tmp_path / "roster.csv").write_text("email,section\na@b.c,1\n")
    code, _, err = grade(capsys, reference, canvas_class(tmp_path), "--roster", str(tmp_path / "roster.csv"))
    assert code == 2 and "--roster" in err and "needs an id column" in err


def test_a_moodle_worksheet_roster_maps_participant_ids(tmp_path):
    path = tmp_path / "worksheet.csv"
    pd.DataFrame({"Identifier": ["Participant 2001"], "Full name": ["Jane Smith"]}).to_csv(path, index=False)
    assert students.read_roster(path) == {"2001": {"name": "Jane Smith"}}


def test_the_benchmark_script_grades_its_class(capsys):
    seconds = load_script("grading_benchmark").main(["--students", "3"])
    assert seconds > 0 and "graded 3 students x 4 stages" in capsys.readouterr().out


def test_an_unusable_feedback_folder_exits_2_before_grading(capsys, reference, tmp_path):
    (tmp_path / "taken").write_text("a file where the folder should go")
    code, out, err = grade(capsys, reference, canvas_class(tmp_path), "--feedback", str(tmp_path / "taken"))
    assert code == 2 and out == "" and not (tmp_path / "downloads" / "gradebook.csv").exists()
    assert err.startswith("grade: ") and "--feedback" in err and len(err.strip().splitlines()) == 1


def test_an_empty_folder_against_a_runs_reference_is_unusable(capsys, reference, tmp_path):
    (tmp_path / "nothing").mkdir()
    code, _, err = grade(capsys, reference, tmp_path / "nothing")
    assert code == 2 and "no confusion_matrix.csv and no student folders found" in err


def test_a_roster_student_without_a_submission_is_missing_against_one_stage(capsys, tmp_path, roster):
    reference = write_tree(tmp_path / "ref", runs_files(prefix="", stages=["large_finetune"])) / "large_finetune"
    code, out, _ = grade(capsys, reference, canvas_class(tmp_path), "--roster", str(roster))
    verdicts = pd.read_csv(tmp_path / "downloads" / "verdicts.csv").set_index("student")
    assert code == 0 and verdicts.at["Max Absent", "verdict"] == "missing"
    assert verdicts.at["Jane Smith", "verdict"] == "pass" and "1 missing" in out
