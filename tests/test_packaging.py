"""The wheel holds every module of the source tree, and a non-editable install runs the CLI."""

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from .helpers import ROOT


def source_modules():
    """Every .py file under skinkit/, as wheel paths."""
    return {path.relative_to(ROOT).as_posix() for path in (ROOT / "skinkit").rglob("*.py")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built offline from a copy of the sources (no stale build/ folder can leak in)."""
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(ROOT / "skinkit", source / "skinkit", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--quiet", "--wheel-dir", str(out), str(source)], check=True, capture_output=True)
    [built] = out.glob("skinkit-*.whl")
    return built


def test_the_wheel_holds_every_module(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {name for name in names if name.endswith(".py")} == source_modules()
    entry_points = next(name for name in names if name.endswith(".dist-info/entry_points.txt"))
    assert "skinkit = skinkit.__main__:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_wheel_holds_the_demo_pages_own_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    static = ROOT / "skinkit" / "deployment" / "static"
    assert {f"skinkit/deployment/static/{path.name}" for path in static.iterdir()} <= names


def test_the_installed_wheel_runs_the_command_line(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                    "--target", str(target), str(wheel)], check=True, capture_output=True)
    # `python -m skinkit --help` in one process that also says which skinkit it imported.
    script = "import runpy, skinkit; print(skinkit.__file__); runpy.run_module('skinkit', run_name='__main__')"
    run = subprocess.run([sys.executable, "-c", script, "--help"], cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(target)},  # the installed copy only
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    where, help_text = run.stdout.split("\n", 1)
    assert where.startswith(str(target))
    for command in ("prepare", "train", "grade", "bench", "export", "predict"):
        assert command in help_text
