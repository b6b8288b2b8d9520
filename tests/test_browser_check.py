"""The browser check's own logic: what counts as a failure and how it is reported (no browser needed)."""

import json

import nbformat
import pytest

from .helpers import ROOT, load_script

check = load_script("browser_check")


def test_page_measurements_become_failures_naming_the_cell_and_what_was_found():
    measured = {"cells": 30, "found": [
        {"cell": 7, "prompt": "[4]:", "kind": "widget-error", "text": "Error displaying widget: model not found"},
        {"cell": 8, "prompt": "[5]:", "kind": "raw-warning",
         "text": "/home/ana/skinkit/stage.py:75: PretrainedWeightsWarning:"},
        {"cell": 12, "prompt": "[7]:", "kind": "wide-table", "width": 1630, "room": 1010,
         "text": "stage  val_accuracy  test_macro_f1  parameters  pretrained"},
        {"cell": 20, "prompt": "[9]:", "kind": "long-line", "chars": 151, "room": 118, "text": "recipe: " + "x" * 143},
        {"cell": 3, "prompt": "", "kind": "wide-output", "width": 900, "room": 800, "text": "abc"},
    ]}
    failures = check.dom_failures("06_comparison.ipynb", "reopened", measured)
    assert [(f.notebook, f.phase, f.place) for f in failures] == [
        ("06_comparison.ipynb", "reopened", "cell 7 [4]"), ("06_comparison.ipynb", "reopened", "cell 8 [5]"),
        ("06_comparison.ipynb", "reopened", "cell 12 [7]"), ("06_comparison.ipynb", "reopened", "cell 20 [9]"),
        ("06_comparison.ipynb", "reopened", "cell 3")]
    widget, warning, table, line, output = (f.what for f in failures)
    assert widget == "shows 'Error displaying widget: model not found'"
    assert warning.startswith("a Python warning shown raw") and "stage.py:75: PretrainedWeightsWarning" in warning
    assert table.startswith("table 1630 px wide in a 1010 px panel (cut off)") and "pretrained" in table
    assert line.startswith("printed line of 151 characters wraps mid-word (room for 118)") and len(line) < 160
    assert output == "output 900 px wide in a 800 px panel (cut off): 'abc'"


def test_a_clean_page_has_no_failures():
    assert check.dom_failures("01_data_exploration.ipynb", "after Run All", {"cells": 17, "found": []}) == []


def test_summary_merges_repeats_and_phases_and_groups_by_notebook():
    widget = "shows 'Error displaying widget: model not found'"
    failures = [
        check.Failure("06_comparison.ipynb", "after Run All", "cell 12 [8]", "table too wide"),
        check.Failure("02_large_training.ipynb", "after Run All", "cell 2 [2]", "long line"),
        check.Failure("02_large_training.ipynb", "reopened", "cell 2 [2]", "long line"),
        check.Failure("02_large_training.ipynb", "reopened", "cell 8 [5]", widget),
        check.Failure("02_large_training.ipynb", "reopened", "cell 8 [5]", widget),
        check.Failure("02_large_training.ipynb", "reopened", "",
                      "browser console error: Error: widget model not found"),
    ]
    assert check.summary(failures) == [
        "02_large_training.ipynb cell 2 [2] (after Run All, reopened): long line",
        f"02_large_training.ipynb cell 8 [5] (reopened, 2x): {widget}",
        "02_large_training.ipynb (reopened): browser console error: Error: widget model not found",
        "06_comparison.ipynb cell 12 [8] (after Run All): table too wide",
    ]


def test_saved_notebook_reports_error_outputs_and_cells_that_never_ran(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("x = 1", execution_count=1),
        nbformat.v4.new_code_cell("1 / 0", execution_count=2, outputs=[nbformat.v4.new_output(
            "error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])]),
        nbformat.v4.new_code_cell("print(x)"),
        nbformat.v4.new_code_cell(""),
    ])
    path = tmp_path / "02_large_training.ipynb"
    nbformat.write(notebook, path)
    assert check.saved_failures("02_large_training.ipynb", "after Run All", path) == [
        check.Failure("02_large_training.ipynb", "after Run All", "cell 2",
                      "error output ZeroDivisionError: division by zero"),
        check.Failure("02_large_training.ipynb", "after Run All", "cell 3", "did not run: 'print(x)'"),
    ]


def test_console_errors_fail_unless_known_to_be_harmless(monkeypatch):
    monkeypatch.setattr(check, "BENIGN_CONSOLE", {"favicon.ico": "the browser asks for an icon the server lacks"})
    messages = ["GET /favicon.ico 404", "Uncaught TypeError: x is undefined\n    at f (app.js:1:2)"]
    assert check.console_failures("03.ipynb", "reopened", messages) == [
        check.Failure("03.ipynb", "reopened", "", "browser console error: Uncaught TypeError: x is undefined")]


def test_copies_of_the_notebooks_are_served_not_the_committed_ones(tmp_path):
    out = tmp_path / "browser"
    names = check.prepare_folder(out, check.DEFAULT_PATTERNS)
    course = sorted(p.name for p in (ROOT / "notebooks").glob("0*.ipynb"))
    solutions = sorted(f"solutions/{p.name}" for p in (ROOT / "notebooks" / "solutions").glob("0*.ipynb"))
    assert len(course) == len(solutions) == 9
    assert names == course + solutions  # the solutions read the run folders the course notebooks write
    assert all((out / "notebooks" / name).read_bytes() == (ROOT / "notebooks" / name).read_bytes() for name in names)
    assert (out / "runs").is_dir() and not any((out / "runs").iterdir())
    settings = out / "jupyterlab" / "settings" / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings"
    assert json.loads(settings.read_text())["windowingMode"] == "none"
    env = check.lab_environment(out)
    assert env["SKINKIT_SMOKE"] == "1" and env["SKINKIT_RUNS"] == str(out / "runs")


def test_a_second_run_empties_its_own_folder_but_never_a_foreign_one(tmp_path):
    out = tmp_path / "browser"
    check.prepare_folder(out, ["01*.ipynb"])
    (out / "old.png").write_bytes(b"png")
    check.prepare_folder(out, ["01*.ipynb"])
    assert not (out / "old.png").exists()
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "chapter1.tex").write_text("keep me")
    with pytest.raises(check.BrowserCheckError, match="did not write"):
        check.prepare_folder(foreign, ["01*.ipynb"])
    assert (foreign / "chapter1.tex").read_text() == "keep me"


def test_no_matching_notebooks_is_a_clear_error(tmp_path):
    with pytest.raises(check.BrowserCheckError, match="no notebooks match"):
        check.prepare_folder(tmp_path / "browser", ["99*.ipynb", "solutions/99*"])


def test_missing_chromium_says_how_to_install_it(tmp_path, capsys):
    assert check.main(["--chromium", str(tmp_path / "no-such-chromium"), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert "apt-get install -y chromium" in error and "\n" not in error
