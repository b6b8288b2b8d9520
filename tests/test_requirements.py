"""requirements.txt and environment.yml must list the same packages with the same ranges."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name
SPEC = re.compile(r"^([A-Za-z0-9_.\-]+)\s*(.*)$")


def parse(lines):
    """{package name: version range} from requirement-style lines."""
    packages = {}
    for line in lines:
        name, spec = SPEC.match(line.strip()).groups()
        packages[CONDA_NAMES.get(name.lower(), name.lower())] = spec.replace(" ", "")
    return packages


def requirements():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return parse(line for line in lines if line.strip() and not line.startswith("#"))


def environment():
    text = (ROOT / "environment.yml").read_text()
    dependencies = text.split("dependencies:", 1)[1].splitlines()
    entries = [line.strip()[2:] for line in dependencies if line.startswith("  - ")]
    return parse(e for e in entries if SPEC.match(e).group(1) not in ("python", "pip"))


def test_environment_yml_matches_requirements_txt():
    assert environment() == requirements()


def test_requirements_admit_the_tested_torch_versions():
    reqs = requirements()
    assert reqs["torch"] == ">=2.4,<3" and reqs["torchvision"] == ">=0.19,<1"
    for name in ("jupyterlab", "matplotlib", "seaborn", "scikit-learn", "pandas", "pillow", "tqdm"):
        assert name in reqs, f"{name} missing from requirements.txt"


def test_the_student_install_holds_no_developer_tools():
    developer_tools = {"pytest", "pytest-xdist", "nbval", "ruff", "import-linter", "playwright", "setuptools", "mapie",
                       "filelock"}
    assert not developer_tools & set(requirements())
    dev_lines = (ROOT / "requirements-dev.txt").read_text().splitlines()
    dev = parse(line for line in dev_lines if line.strip() and not line.startswith(("#", "-r")))
    assert set(dev) == developer_tools
