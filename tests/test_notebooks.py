"""The notebooks are committed clean and wired to the library the way the course expects."""

import ast
import json
import re
import subprocess

import nbformat
import pytest

from skinkit import RECIPES
from skinkit.reporting import comparison
from skinkit.reporting.comparison import FINAL_STAGES
from skinkit.training.recipes import NOTEBOOK_OF_STAGE

from .helpers import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))
CHECKED = "# NBVAL_CHECK_OUTPUT"
HINT = "<details><summary>Hint</summary>"


def code_cells(path):
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def test_nine_numbered_notebooks():
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_", "05_", "06_", "07_", "08_", "09_"]


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.name)
def test_committed_clean(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    assert "widgets" not in notebook.metadata, f"{path.name}: widget state left in the metadata"
    for cell in code_cells(path):
        assert cell.execution_count is None, f"{path.name}: execution count left in a cell"
        assert "execution" not in cell.metadata, f"{path.name}: execution timings left in a cell"
        assert not cell.outputs, f"{path.name}: outputs left in a cell:\n{cell.source[:80]}"


def test_every_checked_cell_has_a_reference_output():
    references = json.loads((ROOT / "notebooks" / "reference_outputs.json").read_text())
    checked = {path.name: {cell.id for cell in code_cells(path) if CHECKED in cell.source}
               for path in NOTEBOOKS + SOLUTIONS}
    assert {name: set(cells) for name, cells in references.items() if cells} == {
        name: ids for name, ids in checked.items() if ids}
    assert all(text.strip() for cells in references.values() for text in cells.values())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_course_notebook_checks_at_least_two_outputs(path):
    assert sum(CHECKED in cell.source for cell in code_cells(path)) >= 2, path.name


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.name)
def test_first_code_cell_is_the_parameters_cell(path):
    first = code_cells(path)[0]
    assert first.metadata.get("tags") == ["parameters"]
    for name in ("SMOKE", "DATA_ROOT", "RUNS_ROOT", "SEED", "IMAGE_SIZE"):
        assert f"{name} =" in first.source, f"{path.name}: parameters cell lacks {name}"


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.name)
def test_notebooks_only_call_the_library(path):
    for cell in code_cells(path):
        assert not cell.source.lstrip().startswith(("!", "%")), f"{path.name}: shell or magic cell"
        assert "sys.path" not in cell.source and not re.search(r"(?m)^\s*(?:def|class) ", cell.source)
        if "parameters" not in cell.metadata.get("tags", []):
            assert len(cell.source.splitlines()) <= 15, f"{path.name}: a long cell belongs in skinkit"


TRAINING_NOTEBOOKS = [path for path in NOTEBOOKS if path.name[:2] in ("02", "03", "04", "05")]
# What a training notebook shows in its own cells before it first calls the shared loop.
LESSON = ("requires_grad", "CrossEntropyLoss(", "Adam(", "StepLR(", "train_model(")


@pytest.mark.parametrize("path", TRAINING_NOTEBOOKS, ids=lambda p: p.name)
def test_a_training_notebook_builds_its_first_model_in_its_own_cells(path):
    sources = [cell.source for cell in code_cells(path)]
    first_training = next(i for i, source in enumerate(sources) if "train_model(" in source)
    shown = "\n".join(sources[:first_training + 1])
    assert [piece for piece in LESSON if piece not in shown] == [], path.name


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.name)
def test_no_notebook_hands_its_stage_to_run_stage(path):
    assert not any("run_stage(" in cell.source for cell in code_cells(path)), path.name


def exercises_and_hints(path):
    """The numbered exercises of a notebook's "Try it yourself" cell, each with the text up to the next one."""
    cell = next((cell for cell in nbformat.read(path, as_version=4).cells
                 if cell.cell_type == "markdown" and cell.source.startswith("## Try it yourself")), None)
    if cell is None:
        return {}
    parts = re.split(r"(?m)^(\d+)\. ", cell.source)[1:]
    return dict(zip(map(int, parts[::2]), parts[1::2]))


def solved_exercises(path):
    """The exercise numbers a solution notebook's headings answer ('## 2. ...', '## Exercises 1 and 3: ...')."""
    cells = nbformat.read(path, as_version=4).cells
    headings = "\n".join(cell.source for cell in cells if cell.cell_type == "markdown")
    numbers = re.findall(r"(?m)^## (\d+)\. ", headings)
    for pair in re.findall(r"(?m)^## Exercises (\d+) and (\d+)", headings):
        numbers += pair
    return sorted(map(int, numbers))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_has_one_hint_and_a_worked_solution(path):
    exercises = exercises_and_hints(path)
    assert exercises, f"{path.name}: no markdown cell starting '## Try it yourself' with numbered exercises"
    assert list(exercises) == list(range(1, len(exercises) + 1))
    for number, text in exercises.items():
        assert text.count(HINT) == 1 and text.rstrip().endswith("</details>"), f"{path.name}: exercise {number}"
    if not SOLUTIONS:
        pytest.skip("notebooks/solutions/ left out (a student copy: make student-copy)")
    solution = ROOT / "notebooks" / "solutions" / f"{path.stem}_solutions.ipynb"
    assert solution.is_file(), f"{path.name}: no worked solutions in {solution.relative_to(ROOT)}"
    assert solved_exercises(solution) == list(exercises), solution.name


def test_every_solution_belongs_to_a_course_notebook():
    assert {path.name.replace("_solutions", "") for path in SOLUTIONS} <= {path.name for path in NOTEBOOKS}


def stages_read(path):
    """The stages a notebook reads: its setup call's requires= and recipe, and every stage it names."""
    stages = set()
    for cell in code_cells(path):
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Constant) and node.value in RECIPES:
                stages |= {node.value, *([RECIPES[node.value].init_from] if RECIPES[node.value].init_from else [])}
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setup":
                required = [keyword.value for keyword in node.keywords if keyword.arg == "requires"]
                scope = {"RECIPES": RECIPES, "FINAL_STAGES": FINAL_STAGES, "comparison": comparison}
                stages |= {*(eval(ast.unparse(required[0]), scope) if required else [])}
    return stages


def runs_before(target):
    """The notebooks `make test` has passed before it starts `target` (make's own dry run)."""
    plan = subprocess.run(["make", "--dry-run", "--jobs=1", "NBVAL_RUNS=unused", f"nbval/{target}"],
                          cwd=ROOT, capture_output=True, text=True, check=True).stdout
    names = re.findall(r'echo "nbval notebooks/(\S+)\.ipynb"', plan)
    assert names[-1] == target, plan
    return set(names[:-1])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_nbval_starts_a_notebook_after_the_notebooks_whose_runs_it_reads(path):
    earlier = {NOTEBOOK_OF_STAGE[stage].removesuffix(".ipynb") for stage in stages_read(path)} - {path.stem}
    if path.name.startswith("08_"):  # 08 reads the test-split predictions that 06 saves
        earlier.add("06_comparison")
    assert earlier <= runs_before(path.stem), path.name


@pytest.mark.skipif(not SOLUTIONS, reason="notebooks/solutions/ left out (a student copy)")
@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_nbval_starts_a_solution_after_its_course_notebook(path):
    assert path.stem.removesuffix("_solutions") in runs_before(f"solutions/{path.stem}")


def test_nbval_runs_every_notebook_and_solution():
    plan = subprocess.run(["make", "--dry-run", "NBVAL_RUNS=unused", "nbval"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout
    ran = re.findall(r'echo "nbval (notebooks/\S+\.ipynb)"', plan)
    assert sorted(ran) == sorted(path.relative_to(ROOT).as_posix() for path in NOTEBOOKS + SOLUTIONS)
