"""Reference outputs are renewed by review: --refresh shows the diff, --write writes it; the sanitizer
masks what differs between machines and nothing the notebooks must get right."""

import json

from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbval.plugin import get_sanitize_patterns

from .helpers import ROOT, load_script

clean = load_script("clean_notebooks")
PATTERNS = get_sanitize_patterns((ROOT / "notebooks" / "nbval_sanitize.cfg").read_text())
SETUP_OUTPUT = """torch 2.14.1  torchvision 0.29.1  scikit-learn 1.9.1  pandas 3.1.1  matplotlib 3.11.2  seaborn 0.13.2
device: cuda  |  smoke mode: ON (tiny CI-sized run)
data: /home/ana/skinkit/data/sample  <- the bundled sample (data/sample): a few real images per class
runs: /tmp/tmpx1y2z3
  learning rate  0.0005 (Adam), x0.5 every 4 epochs (StepLR)
  class weights  akiec 3, bcc 2.2, bkl 2, df 5, mel 3, nv 1, vasc 5
saved in C:\\Users\\ana\\runs\\explain:
  sanity_check.png
"""


def test_the_sanitizer_masks_versions_devices_and_folders_but_no_fact():
    masked = clean.sanitize(SETUP_OUTPUT, PATTERNS).splitlines()
    assert masked[:4] == ["<package versions>", "device: <device>  |  smoke mode: ON (tiny CI-sized run)",
                          "data: <folder>  <- the bundled sample (data/sample): a few real images per class",
                          "runs: <folder>"]
    assert masked[4:] == SETUP_OUTPUT.splitlines()[4:6] + ["saved in <folder>/explain:", "  sanity_check.png"]
    assert clean.sanitize("\n".join(masked), PATTERNS) == "\n".join(masked)  # stored references stay as they are


def test_checked_outputs_are_sanitized_and_a_stray_stderr_is_flagged():
    cell = new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(settings)", id="abc")
    cell.outputs = [new_output("stream", name="stdout", text="runs: /tmp/x\n"),
                    new_output("stream", name="stderr", text="a warning\n")]
    found = clean.checked_outputs(new_notebook(cells=[cell, new_code_cell("print(1)", id="def")]), PATTERNS)
    assert found == {"abc": "!! this checked cell also writes stderr: print to stdout only\nruns: <folder>\n"}


def test_refresh_shows_the_difference_and_writes_only_when_asked(tmp_path, monkeypatch, capsys):
    references = tmp_path / "reference_outputs.json"
    references.write_text(json.dumps({"02_x.ipynb": {"a": "kept epoch 1\n"}}))
    monkeypatch.setattr(clean, "REFERENCES", references)
    monkeypatch.setattr(clean, "execute_checked", lambda paths, patterns: {
        "02_x.ipynb": {"a": "kept epoch 2\n"}, "02_x_solutions.ipynb": {}})
    assert clean.main(["--refresh"]) == 1
    out = capsys.readouterr().out
    assert "-kept epoch 1\n+kept epoch 2\n" in out and "rerun with --write" in out
    assert json.loads(references.read_text()) == {"02_x.ipynb": {"a": "kept epoch 1\n"}}
    assert clean.main(["--refresh", "--write"]) == 0
    assert json.loads(references.read_text()) == {"02_x.ipynb": {"a": "kept epoch 2\n"}}
    capsys.readouterr()
    assert clean.main(["--refresh"]) == 0 and "unchanged" in capsys.readouterr().out
