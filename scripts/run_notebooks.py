"""Execute the numbered notebooks headless, in order, keeping executed copies beside the results.

    python scripts/run_notebooks.py            # the full kit on the default data (make run)
    python scripts/run_notebooks.py --smoke    # CI-sized run; prints each notebook's wall time
"""

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from skinkit.notebook import default_runs_root

ROOT = Path(__file__).resolve().parents[1]


def execute(path, out_dir, timeout):
    """Run one notebook in its own folder; save the executed copy to `out_dir`; return seconds."""
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    finally:
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, out_dir / path.name)
    return time.perf_counter() - started


def main(argv=None):
    """Execute notebooks/0*.ipynb in order; stop at the first failing one."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="set SKINKIT_SMOKE=1 (tiny runs)")
    parser.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds (default none)")
    args = parser.parse_args(argv)
    if args.smoke:
        os.environ["SKINKIT_SMOKE"] = "1"
    runs_root = default_runs_root(ROOT, args.smoke)  # where the notebooks write their run folders
    out_dir = runs_root / "notebooks"
    total, notebooks = 0.0, sorted((ROOT / "notebooks").glob("0*.ipynb"))
    for path in notebooks:
        print(f"running {path.name} ...", flush=True)
        try:
            seconds = execute(path, out_dir, args.timeout)
        except CellExecutionError as error:
            print(f"\n{path.name} failed; the executed copy with the error is {out_dir / path.name}\n{error}",
                  file=sys.stderr)
            return 1
        total += seconds
        print(f"  {seconds:6.1f} s  -> {out_dir / path.name}", flush=True)
    print(f"all {len(notebooks)} notebooks: {total:.1f} s")
    print("confusion matrices:")
    for png in sorted(runs_root.glob("*/*confusion*.png")):
        print(f"  {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
