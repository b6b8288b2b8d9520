"""nbval set-up: give the cells marked NBVAL_CHECK_OUTPUT their reference output.

The notebooks are committed without any outputs or execution counts; the expected text of the
checked cells lives in reference_outputs.json (renew it: `python scripts/clean_notebooks.py
--refresh`). nbval only compares a cell it believes was run, hence the execution count.
"""

import json
from pathlib import Path

from nbformat.v4 import new_output

CHECKED = "# NBVAL_CHECK_OUTPUT"
REFERENCES = json.loads((Path(__file__).with_name("reference_outputs.json")).read_text())


def pytest_collection_modifyitems(items):
    """Attach each checked cell's reference stdout (a missing reference makes the check fail)."""
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is None or CHECKED not in cell.source:
            continue
        expected = REFERENCES.get(Path(str(item.fspath)).name, {}).get(cell.get("id"), "")
        cell.outputs = [new_output("stream", name="stdout", text=expected)]
        cell.execution_count = 1
