"""Paths and probes shared by the tests."""

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


def load_script(name):
    """Import scripts/<name>.py as a module (the scripts are not part of the package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


# Runs `main` once per argv given as JSON, then says whether PyTorch was imported on the way.
MAIN_PROBE = """
import json, sys
from skinkit.__main__ import main
statuses = []
for argv in json.loads(sys.argv[1]):
    try:
        statuses.append(main(argv))
    except SystemExit as stop:  # --help and argparse errors exit
        statuses.append(stop.code)
print(json.dumps({"statuses": statuses, "torch": "torch" in sys.modules}))
"""


def main_in_fresh_python(*argvs):
    """`python -m skinkit` with each argv in turn, in one new interpreter: exit statuses, stdout,
    stderr, and whether `torch` was imported."""
    result = fresh_python(MAIN_PROBE, json.dumps([[str(arg) for arg in argv] for argv in argvs]))
    *printed, probe = result.stdout.splitlines()
    return {**json.loads(probe), "stdout": "\n".join(printed), "stderr": result.stderr}


def fresh_python(code, *args):
    """Run `code` in a new interpreter from the kit's folder; the finished process (it must exit 0)."""
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def copied_export(cli_export, tmp_path_factory):
    """(runs root, export folder) of a private copy of the session's export, which a module may change."""
    runs, folder, status = cli_export[:3]
    assert status == 0
    copy = tmp_path_factory.mktemp("runs") / "runs"
    shutil.copytree(runs, copy)
    return copy, copy / folder.relative_to(runs)
