"""Strip notebooks for committing: no outputs or execution counts, except the reference output of
cells marked `# NBVAL_CHECK_OUTPUT`, which nbval compares against.

    python scripts/clean_notebooks.py            # strip in place
    python scripts/clean_notebooks.py --refresh  # re-execute in smoke mode first, to renew the references
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHECKED = "# NBVAL_CHECK_OUTPUT"


def clean(notebook):
    """Drop execution counts, timings, widget state and every output but the stdout of checked cells."""
    notebook.metadata.pop("widgets", None)
    notebook.metadata["language_info"] = {"name": "python"}
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        keep = CHECKED in cell.source
        cell.outputs = [out for out in cell.outputs
                        if keep and out.output_type == "stream" and out.name == "stdout"]
    return notebook


def main(argv=None):
    """Clean every notebook in notebooks/ (optionally re-executing them in smoke mode first)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refresh", action="store_true", help="execute in smoke mode to renew reference outputs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as runs:
        os.environ.update(SKINKIT_SMOKE="1", SKINKIT_RUNS=runs)
        for path in sorted((ROOT / "notebooks").glob("0*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            if args.refresh:
                NotebookClient(notebook, kernel_name="python3",
                               resources={"metadata": {"path": str(path.parent)}}).execute()
            nbformat.write(clean(notebook), path)
            print(f"cleaned {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
