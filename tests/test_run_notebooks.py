"""`make run`'s script: what cells print is shown as it happens, without the kernel's own log noise."""

import signal
import subprocess
import sys
import time

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from .helpers import ROOT, SAMPLE, load_script


def test_cell_output_is_echoed_and_kernel_noise_kept_out(tmp_path, capfd):
    notebook = new_notebook(cells=[new_code_cell('import sys\nprint("epoch 1/2: loss 1.9")\n'
                                                 'print("a warning", file=sys.stderr)')])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "tiny.ipynb"
    nbformat.write(notebook, path)
    load_script("run_notebooks").execute(path, tmp_path / "out", timeout=120)
    out, err = capfd.readouterr()
    assert "epoch 1/2: loss 1.9" in out and "a warning" in err
    assert "IPKernelApp" not in err and "without encryption" not in err
    saved = nbformat.read(tmp_path / "out" / "tiny.ipynb", as_version=4)
    assert saved.cells[0].outputs[0].text == "epoch 1/2: loss 1.9\n"


def test_a_full_run_on_the_sample_says_so_and_how_to_get_the_course(tmp_path, monkeypatch):
    monkeypatch.delenv("SKINKIT_DATA", raising=False)
    notice = load_script("run_notebooks").sample_notice
    (tmp_path / "data" / "sample").mkdir(parents=True)
    assert "105-image sample" in notice(tmp_path) and "`make data`" in notice(tmp_path)
    (tmp_path / "data" / "course").mkdir()
    assert notice(tmp_path) is None
    (tmp_path / "data" / "course").rmdir()
    monkeypatch.setenv("SKINKIT_DATA", str(tmp_path / "elsewhere"))
    assert notice(tmp_path) is None


def test_a_finished_run_ends_by_naming_the_executed_copies(tmp_path, monkeypatch, capsys):
    """Its last line said "confusion matrices:" with nothing under it once the figures left the run folders."""
    script = load_script("run_notebooks")
    monkeypatch.setattr(script, "start_clock", lambda *args: None)
    monkeypatch.setattr(script, "run_all", lambda *args: 0)
    monkeypatch.setenv("SKINKIT_RUNS", str(tmp_path))
    assert script.main(["--smoke"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"every table and figure is in the executed copies: {tmp_path / 'notebooks'}")


def write_notebook(path, *sources):
    """A python3 notebook at `path`, one cell per source."""
    notebook = new_notebook(cells=[new_code_cell(source) for source in sources])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return path


def test_a_dead_kernel_ends_the_run_with_one_line_naming_the_notebook_and_its_copy(tmp_path, capfd):
    # The print is a cell of its own: its output is recorded before the next cell kills the kernel.
    dying = write_notebook(tmp_path / "01_dies.ipynb", 'print("before")', 'import os\nos.kill(os.getpid(), 9)')
    never = write_notebook(tmp_path / "02_never.ipynb", 'print("after")')
    out = tmp_path / "out"
    assert load_script("run_notebooks").run_all([dying, never], out, timeout=120) == 1
    stdout, stderr = capfd.readouterr()
    assert "Traceback" not in stderr and "DeadKernelError" not in stderr
    [line] = [line for line in stderr.splitlines() if line.strip()]
    assert "01_dies.ipynb" in line and str(out / "01_dies.ipynb") in line
    assert "02_never" not in stdout  # the run stopped there
    assert nbformat.read(out / "01_dies.ipynb", as_version=4).cells[0].outputs[0].text == "before\n"


def write_history(run_dir, seconds):
    """A history.csv holding `seconds` per epoch (the other columns do not matter here)."""
    run_dir.mkdir(parents=True)
    pd.DataFrame({"epoch": range(1, len(seconds) + 1), "seconds": seconds}).to_csv(run_dir / "history.csv",
                                                                                  index=False)


def test_the_training_estimate_is_corrected_by_each_finished_stage(tmp_path):
    script = load_script("run_notebooks")
    # By hand: a = 2 epochs x (10 x 3 s + 4 x 0.5 s) = 64 s; b = 3 epochs left x (5 x 6 s + 2 x 1 s) = 96 s.
    plans = [script.StagePlan("a", "02.ipynb", 0, 2, 10, 4, step_s=3.0, eval_s=0.5),
             script.StagePlan("b", "03.ipynb", 1, 3, 5, 2, step_s=6.0, eval_s=1.0),
             script.StagePlan("c", "04.ipynb", 4, 0, 5, 2)]
    clock = script.CourseClock(plans, tmp_path)
    assert clock.seconds_left() == pytest.approx(160)
    write_history(tmp_path / "a", [40.0, 40.0])  # 80 s measured against 64 predicted: x1.25
    assert clock.notebook_finished("02.ipynb") is not None
    assert clock.correction() == pytest.approx(1.25) and clock.seconds_left() == pytest.approx(120)
    write_history(tmp_path / "b", [999.0, 30.0, 30.0, 30.0])  # its first epoch came from an earlier run
    clock.notebook_finished("03.ipynb")
    assert clock.correction() == pytest.approx(170 / 160) and clock.seconds_left() == 0
    assert clock.notebook_finished("04.ipynb") is None  # trained before this run: nothing measured
    assert clock.notebook_finished("06.ipynb") is None  # trains no stage


def test_stages_are_planned_from_the_recipes_the_data_and_the_epochs_already_trained(tmp_path):
    write_history(tmp_path / "large_frozen", [1.0] * 5)
    plans = load_script("run_notebooks").plan_stages(SAMPLE, tmp_path, smoke=False)
    # The sample: 5 training images per class, repeated 4, 4, 2, 6, 2, 1, 6 times = 125 a epoch,
    # 3 batches of 50; 35 validation images, 2 batches of 25. The report's epochs: 12, 6, 15, 6.
    assert [(p.stage, p.epochs_done, p.epochs_left) for p in plans] == [
        ("large_frozen", 5, 7), ("large_finetune", 0, 6), ("small_frozen", 0, 15), ("small_finetune", 0, 6)]
    assert {(p.train_batches, p.val_batches) for p in plans} == {(3, 2)}
    smoke = load_script("run_notebooks").plan_stages(SAMPLE, tmp_path, smoke=True)
    assert [p.epochs_left for p in smoke] == [0, 1, 1, 1]


def test_one_batch_of_each_stage_left_is_timed_and_trained_stages_are_not(tmp_path, capsys):
    for stage in ("large_frozen", "large_finetune", "small_finetune"):
        write_history(tmp_path / stage, [1.0])  # smoke mode trains 1 epoch: these are done
    clock = load_script("run_notebooks").start_clock(ROOT, tmp_path, smoke=True)
    timed = {stage: plan.step_s > 0 and plan.eval_s > 0 for stage, plan in clock.plans.items()}
    assert timed == {"large_frozen": False, "large_finetune": False, "small_frozen": True, "small_finetune": False}
    assert clock.seconds_left() > 0 and "already trained" in capsys.readouterr().out


def test_ctrl_c_interrupts_the_cell_and_ends_the_run_with_one_line(tmp_path):
    started = tmp_path / "started"
    slow = write_notebook(tmp_path / "01_slow.ipynb", 'print("before")',
                          f'import time, pathlib\npathlib.Path({str(started)!r}).touch()\ntime.sleep(300)')
    never = write_notebook(tmp_path / "02_never.ipynb", 'print("after")')
    out, driver = tmp_path / "out", tmp_path / "driver.py"
    driver.write_text("import sys\nfrom pathlib import Path\nsys.path.insert(0, sys.argv[1])\nimport run_notebooks\n"
                      "sys.exit(run_notebooks.run_all([Path(a) for a in sys.argv[3:]], Path(sys.argv[2]), 600))\n")
    process = subprocess.Popen([sys.executable, driver, ROOT / "scripts", out, slow, never], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "Traceback" not in stderr and "Error" not in stderr
    [line] = [line for line in stderr.splitlines() if line.strip()]
    assert "01_slow.ipynb" in line and "Ctrl-C" in line and str(out / "01_slow.ipynb") in line
    assert "after" not in stdout  # the run stopped there
    outputs = nbformat.read(out / "01_slow.ipynb", as_version=4).cells[1].outputs
    assert outputs and outputs[0].get("ename") == "KeyboardInterrupt"  # the cell itself was interrupted
