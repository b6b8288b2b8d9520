"""Strip notebooks for committing; renew the reference outputs nbval checks only after review.

    python scripts/clean_notebooks.py                    # strip outputs in place (notebooks and solutions)
    python scripts/clean_notebooks.py --refresh          # run every notebook in smoke mode and show,
                                                         # as a diff, what reference_outputs.json would become
    python scripts/clean_notebooks.py --refresh --write  # the same, then write it (after you read the diff)

nbval compares each cell marked # NBVAL_CHECK_OUTPUT with its text in
notebooks/reference_outputs.json. Renewing that text is a review, never a re-capture: --refresh
prints the difference and exits with status 1 when there is one, and writes only with --write.
The references are stored as the sanitizer (notebooks/nbval_sanitize.cfg) leaves them, so the
diff shows only what must be the same on every machine.
"""

import argparse
import difflib
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbval.plugin import get_sanitize_patterns

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CHECKED = "# NBVAL_CHECK_OUTPUT"
REFERENCES = NOTEBOOKS / "reference_outputs.json"
SANITIZER = NOTEBOOKS / "nbval_sanitize.cfg"


def course_notebooks():
    """The numbered course notebooks, in the order they run."""
    return sorted(NOTEBOOKS.glob("0*.ipynb"))


def all_notebooks():
    """Course notebooks, then their worked solutions (notebooks/solutions/)."""
    return course_notebooks() + sorted((NOTEBOOKS / "solutions").glob("0*.ipynb"))


def sanitize(text, patterns):
    """`text` with every sanitizer regex replaced, as nbval does before comparing."""
    for regex, replacement in patterns:
        text = re.sub(regex, replacement, text)
    return text


def checked_outputs(notebook, patterns=()):
    """{cell id: sanitized stdout} of the executed cells marked # NBVAL_CHECK_OUTPUT.

    A checked cell that also writes to stderr or displays something gets a note instead: nbval
    compares only stdout with the reference, so such a cell would always fail.
    """
    found = {}
    for cell in notebook.cells:
        if cell.cell_type != "code" or CHECKED not in cell.source:
            continue
        other = sorted({out.get("name", out.output_type) for out in cell.outputs
                        if not (out.output_type == "stream" and out.name == "stdout")})
        stdout = "".join(out.text for out in cell.outputs if out.output_type == "stream" and out.name == "stdout")
        found[cell.id] = (f"!! this checked cell also writes {', '.join(other)}: print to stdout only\n"
                          if other else "") + sanitize(stdout, patterns)
    return found


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


def execute_checked(paths, patterns):
    """Run `paths` in order in smoke mode on one fresh run folder; {notebook name: checked outputs}."""
    found = {}
    with tempfile.TemporaryDirectory() as runs:
        os.environ.update(SKINKIT_SMOKE="1", SKINKIT_RUNS=runs)
        for path in paths:
            notebook = nbformat.read(path, as_version=4)
            resources = {"metadata": {"path": str(path.parent)}}
            NotebookClient(notebook, kernel_name="python3", resources=resources).execute()
            found[path.name] = checked_outputs(notebook, patterns)
            print(f"ran {path.name}", file=sys.stderr)
    return found


def reference_diff(old, new):
    """Unified diff, cell by cell, from the stored references `old` to `new` ({notebook: {cell id: text}})."""
    lines = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name, {}), new.get(name, {})
        for cell in sorted(set(before) | set(after)):
            if before.get(cell) != after.get(cell):
                lines += difflib.unified_diff(before.get(cell, "").splitlines(keepends=True),
                                              after.get(cell, "").splitlines(keepends=True),
                                              f"{name} cell {cell} (stored)", f"{name} cell {cell} (new)")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def refresh(write):
    """Show how the references would change; write them only when `write`. Returns the exit status."""
    old = json.loads(REFERENCES.read_text()) if REFERENCES.exists() else {}
    ran = execute_checked(all_notebooks(), get_sanitize_patterns(SANITIZER.read_text()))
    new = {name: cells for name, cells in ran.items() if cells}
    diff = reference_diff(old, new)
    if not diff:
        print("reference outputs unchanged")
        return 0
    print(diff, end="")
    if not write:
        print("\nreference outputs would change (above). Review every line, then rerun with --write.")
        return 1
    REFERENCES.write_text(json.dumps(new, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"\nwrote {REFERENCES}")
    return 0


def main(argv=None):
    """Strip every notebook, or (--refresh) review and renew the reference outputs."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refresh", action="store_true",
                        help="run every notebook in smoke mode and diff their checked outputs")
    parser.add_argument("--write", action="store_true", help="with --refresh: write the new reference outputs")
    args = parser.parse_args(argv)
    if args.write and not args.refresh:
        parser.error("--write only goes with --refresh")
    if args.refresh:
        return refresh(args.write)
    for path in all_notebooks():
        nbformat.write(clean(nbformat.read(path, as_version=4)), path)
        print(f"cleaned {path.relative_to(NOTEBOOKS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
