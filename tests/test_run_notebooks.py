"""`make run`'s script: what cells print is shown as it happens, without the kernel's own log noise."""

import importlib.util

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from .helpers import ROOT


def load_script():
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cell_output_is_echoed_and_kernel_noise_kept_out(tmp_path, capfd):
    notebook = new_notebook(cells=[new_code_cell('import sys\nprint("epoch 1/2: loss 1.9")\n'
                                                 'print("a warning", file=sys.stderr)')])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "tiny.ipynb"
    nbformat.write(notebook, path)
    load_script().execute(path, tmp_path / "out", timeout=120)
    out, err = capfd.readouterr()
    assert "epoch 1/2: loss 1.9" in out and "a warning" in err
    assert "IPKernelApp" not in err and "without encryption" not in err
    assert nbformat.read(tmp_path / "out" / "tiny.ipynb", as_version=4).cells[0].outputs[0].text == "epoch 1/2: loss 1.9\n"
