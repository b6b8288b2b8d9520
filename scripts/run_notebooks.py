"""Execute the numbered notebooks headless, in order, keeping executed copies beside the results.

What the cells print (each epoch's line, each stage's summary, warnings) is shown as it happens.

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

from skinkit.notebook import default_data_root, default_runs_root

ROOT = Path(__file__).resolve().parents[1]


class EchoingClient(NotebookClient):
    """A NotebookClient that also prints the cells' stdout and stderr as they arrive."""

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "stream":
            stream = sys.stderr if msg["content"]["name"] == "stderr" else sys.stdout
            print(msg["content"]["text"], end="", file=stream, flush=True)
        return super().output(outs, msg, display_id, cell_index)


def execute(path, out_dir, timeout):
    """Run one notebook in its own folder; save the executed copy to `out_dir`; return seconds."""
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    # The kernel's own log (e.g. "running over TCP without encryption") is noise here; errors still show.
    client = EchoingClient(notebook, timeout=timeout, kernel_name="python3",
                           extra_arguments=["--IPKernelApp.log_level=ERROR"],
                           resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    finally:
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, out_dir / path.name)
    return time.perf_counter() - started


def sample_notice(root):
    """The first line of a full run that falls back to the bundled sample (None otherwise)."""
    if default_data_root(root, smoke=False)[0] != root / "data" / "sample":
        return None
    return ("Running on the 105-image sample (data/sample): it runs everything but teaches little; "
            "`make data` fetches the real course into data/course.")


def main(argv=None):
    """Execute notebooks/0*.ipynb in order; stop at the first failing one."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="set SKINKIT_SMOKE=1 (tiny runs)")
    parser.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds (default none)")
    args = parser.parse_args(argv)
    # Nobody sees the kernels' live bars here: they print a line a minute instead (skinkit.progress).
    os.environ.setdefault("SKINKIT_PROGRESS_LINES", "60")
    if args.smoke:
        os.environ["SKINKIT_SMOKE"] = "1"
    elif sample_notice(ROOT):
        print(sample_notice(ROOT), flush=True)
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
