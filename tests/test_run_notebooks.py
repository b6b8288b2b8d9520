"""`make run`'s script: what cells print is shown as it happens, without the kernel's own log noise."""

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from .helpers import load_script


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
    assert nbformat.read(tmp_path / "out" / "tiny.ipynb", as_version=4).cells[0].outputs[0].text == "epoch 1/2: loss 1.9\n"


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
