"""`python -m skinkit` starts without PyTorch where it does not need it: every --help, and `grade`.

(`predict --onnx` is checked in test_deployment.py, beside the model its export fixture writes.)
Each check runs `main` in a fresh interpreter and asks whether `torch` ended up in sys.modules;
timings are measured by hand, never asserted.
"""

import pytest

from skinkit.classes import CLASS_CODES

from .helpers import main_in_fresh_python
from .test_grading import REFERENCE, moved, write_cm

COMMANDS = ("download", "prepare", "train", "grade", "bench", "export", "predict")


def test_every_help_is_printed_without_torch():
    run = main_in_fresh_python(["--help"], *[[command, "--help"] for command in COMMANDS])
    assert run["statuses"] == [0] * (1 + len(COMMANDS))
    assert all(f"python -m skinkit {command}" in run["stdout"] for command in COMMANDS)
    assert not run["torch"]


@pytest.fixture
def grading_case(tmp_path):
    """A reference run, one student's run folder, and a class of three (one of them unusable)."""
    reference = write_cm(tmp_path / "reference", REFERENCE).parent
    student = write_cm(tmp_path / "student", moved(REFERENCE, "mel", 3)).parent
    class_folder = tmp_path / "class"
    write_cm(class_folder / "alice", moved(REFERENCE, "bcc", 2))
    write_cm(class_folder / "bob", moved(REFERENCE, "mel", 10))
    write_cm(class_folder / "carol" / "confusion_matrix.csv", REFERENCE[:6], index=CLASS_CODES[:6])
    return reference, student, class_folder


def test_grading_a_submission_and_a_class_imports_no_torch(grading_case, tmp_path):
    reference, student, class_folder = grading_case
    run = main_in_fresh_python(
        ["grade", "--reference", reference, "--submission", student],
        ["grade", "--reference", reference, "--submission", class_folder, "--feedback", tmp_path / "feedback"])
    assert run["statuses"] == [0, 0], run["stderr"]
    assert "PASS: all class recalls" in run["stdout"]
    assert (class_folder / "verdicts.csv").is_file() and (tmp_path / "feedback" / "bob.md").is_file()
    assert not run["torch"]


def test_the_probe_sees_torch_when_a_command_loads_it(tmp_path):
    # `train` imports PyTorch in its handler, before finding that the dataset is missing.
    run = main_in_fresh_python(["train", "--stage", "small_frozen", "--data", tmp_path / "missing",
                                "--runs", tmp_path / "runs"])
    assert run["statuses"] == [2] and "missing" in run["stderr"]
    assert run["torch"]
