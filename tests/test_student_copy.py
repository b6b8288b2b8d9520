"""make student-copy hands out the kit without the worked solutions or the code only they use."""

import subprocess
import zipfile

import pytest

from .helpers import ROOT

LEFT_OUT = ("skinkit/notebooks/solutions/", "skinkit/skinkit/exercises/")


@pytest.fixture(scope="module")
def student_zip(tmp_path_factory):
    """The names in the zip that `make student-copy` builds (from this clone's HEAD)."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git clone: make student-copy archives the committed kit")
    subprocess.run(["make", "-s", "student-copy"], cwd=ROOT, check=True, capture_output=True)
    with zipfile.ZipFile(ROOT / "dist" / "skinkit-student.zip") as archive:
        return archive.namelist()


def test_the_student_copy_holds_no_solution_code(student_zip):
    assert not [name for name in student_zip if name.startswith(LEFT_OUT)]


def test_the_student_copy_keeps_the_course(student_zip):
    assert "skinkit/notebooks/02_large_training.ipynb" in student_zip
    assert "skinkit/skinkit/training/loop.py" in student_zip
    assert "skinkit/requirements.txt" in student_zip
