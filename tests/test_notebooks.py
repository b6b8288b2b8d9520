"""The notebooks are committed clean and wired to the library the way the course expects."""

import json

import nbformat
import pytest

from .helpers import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHECKED = "# NBVAL_CHECK_OUTPUT"


def code_cells(path):
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def test_nine_numbered_notebooks():
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_", "05_", "06_", "07_", "08_", "09_"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
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
    checked = {path.name: {cell.id for cell in code_cells(path) if CHECKED in cell.source} for path in NOTEBOOKS}
    assert {name: set(cells) for name, cells in references.items() if cells} == {
        name: ids for name, ids in checked.items() if ids}
    assert all(text.strip() for cells in references.values() for text in cells.values())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_is_the_parameters_cell(path):
    first = code_cells(path)[0]
    assert first.metadata.get("tags") == ["parameters"]
    for name in ("SMOKE", "DATA_ROOT", "RUNS_ROOT", "SEED", "IMAGE_SIZE"):
        assert f"{name} =" in first.source, f"{path.name}: parameters cell lacks {name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_only_call_the_library(path):
    for cell in code_cells(path):
        assert not cell.source.lstrip().startswith(("!", "%")), f"{path.name}: shell or magic cell"
        assert "sys.path" not in cell.source and "def " not in cell.source and "class " not in cell.source
        if "parameters" not in cell.metadata.get("tags", []):
            assert len(cell.source.splitlines()) <= 12, f"{path.name}: a long cell belongs in skinkit"
