"""Strip notebooks for committing: no outputs, execution counts, timings or widget state.

    python scripts/clean_notebooks.py            # strip in place
    python scripts/clean_notebooks.py --refresh  # re-execute in smoke mode first and save the
                                                 # stdout of cells marked # NBVAL_CHECK_OUTPUT to
                                                 # notebooks/reference_outputs.json (what nbval checks)
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHECKED = "# NBVAL_CHECK_OUTPUT"
REFERENCES = ROOT / "notebooks" / "reference_outputs.json"


def checked_outputs(notebook):
    """{cell id: stdout} of the executed cells marked # NBVAL_CHECK_OUTPUT."""
    return {cell.id: "".join(out.text for out in cell.outputs if out.output_type == "stream" and out.name == "stdout")
            for cell in notebook.cells if cell.cell_type == "code" and CHECKED in cell.source}


def clean(notebook):
    """Drop outputs, execution counts, timings and widget state."""
    notebook.metadata.pop("widgets", None)
    notebook.metadata["language_info"] = {"name": "python"}
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        cell.outputs = []
    return notebook


def main(argv=None):
    """Clean every notebook in notebooks/ (optionally re-executing them in smoke mode first)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refresh", action="store_true", help="execute in smoke mode to renew reference outputs")
    args = parser.parse_args(argv)
    references = json.loads(REFERENCES.read_text()) if REFERENCES.exists() else {}
    with tempfile.TemporaryDirectory() as runs:
        os.environ.update(SKINKIT_SMOKE="1", SKINKIT_RUNS=runs)
        for path in sorted((ROOT / "notebooks").glob("0*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            if args.refresh:
                NotebookClient(notebook, kernel_name="python3",
                               resources={"metadata": {"path": str(path.parent)}}).execute()
                references[path.name] = checked_outputs(notebook)
            nbformat.write(clean(notebook), path)
            print(f"cleaned {path.name}")
    if args.refresh:
        REFERENCES.write_text(json.dumps(references, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
