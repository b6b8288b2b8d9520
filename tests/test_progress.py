"""Progress bars: live widgets in a notebook that leave plain text, not widgets, in the saved file."""

import time

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from skinkit.__main__ import main
from skinkit.progress import IN_NOTEBOOK, ProgressSettingError, progress_bar, write_line

from .helpers import ROOT
from .test_grading import REFERENCE, write_cm

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
BARS = """import time
from skinkit.progress import progress_bar
for _ in progress_bar(range(3), desc="kept"):
    pass
for _ in progress_bar(range(3), desc="gone", leave=False):
    pass
for _ in progress_bar(range(3), desc="quick", delay=30):  # over before its delay: never shown
    pass
for _ in progress_bar(range(3), desc="slow", delay=0.1, mininterval=0):
    time.sleep(0.1)
print("done")"""


def test_a_terminal_gets_text_bars():
    assert not IN_NOTEBOOK
    assert list(progress_bar(range(3), disable=True)) == [0, 1, 2]


def test_finished_notebook_bars_are_saved_as_text():
    notebook = new_notebook(cells=[new_code_cell(BARS)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(notebook, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = notebook.cells[0].outputs
    assert not [out for out in outputs if WIDGET_VIEW in out.get("data", {})], "a widget view was saved"
    kept, gone, slow, printed = outputs
    assert kept.data["text/plain"].startswith("kept: 100%") and "3/3" in kept.data["text/plain"]
    assert gone.data["text/plain"] == ""
    assert slow.data["text/plain"].startswith("slow: 100%")
    assert printed.text == "done\n"


def test_progress_lines_say_batches_done_and_time_left(monkeypatch, capsys):
    monkeypatch.setenv("SKINKIT_PROGRESS_LINES", "0.05")
    for _ in progress_bar(range(4), desc="epoch 1", leave=False):
        time.sleep(0.06)
    for _ in progress_bar(range(4), desc="quick"):  # over before the first interval: no line
        pass
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith("epoch 1:") for line in lines)
    assert any("/4 [" in line and "<" in line for line in lines)  # done/total [elapsed<left]
    assert not any("\r" in line for line in lines)


def test_nested_progress_lines_hold_no_cursor_codes(monkeypatch, capsys):
    monkeypatch.setenv("SKINKIT_PROGRESS_LINES", "0.05")
    for epoch in progress_bar(range(2), desc="epochs"):
        for _ in progress_bar(range(3), desc=f"epoch {epoch + 1}", leave=False):
            time.sleep(0.06)
        write_line(f"epoch {epoch + 1} done")
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("epoch 1:") for line in lines) and "epoch 2 done" in lines
    assert not [line for line in lines if "\x1b" in line], "a log line holds a terminal control code"


@pytest.mark.parametrize("value", ["1min", "-5", "nan"])
def test_progress_lines_that_are_not_seconds_are_one_line_saying_what_to_set(monkeypatch, value):
    monkeypatch.setenv("SKINKIT_PROGRESS_LINES", value)
    with pytest.raises(ProgressSettingError) as raised:
        progress_bar(range(3))
    message = str(raised.value)
    assert len(message.splitlines()) == 1
    assert f"SKINKIT_PROGRESS_LINES is {value!r}" in message and "SKINKIT_PROGRESS_LINES=60" in message


def test_grading_a_class_with_a_bad_progress_setting_stops_before_writing_anything(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("SKINKIT_PROGRESS_LINES", "often")
    reference = write_cm(tmp_path / "reference", REFERENCE).parent
    for student in ("alice", "bob"):
        write_cm(tmp_path / "class" / student, REFERENCE)
    assert main(["grade", "--reference", str(reference), "--submission", str(tmp_path / "class")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("grade: SKINKIT_PROGRESS_LINES is 'often'") and len(err.splitlines()) == 1
    assert not (tmp_path / "class" / "verdicts.csv").exists()


def test_a_finished_bar_prints_its_last_count_once(monkeypatch, capsys):
    monkeypatch.setenv("SKINKIT_PROGRESS_LINES", "0")  # a line at every step
    for _ in progress_bar(range(3), desc="epochs"):
        time.sleep(0.01)
    counts = [line.split(" [")[0].split()[-1] for line in capsys.readouterr().out.splitlines()]
    assert counts.count("3/3") == 1 and "1/3" in counts and "2/3" in counts
