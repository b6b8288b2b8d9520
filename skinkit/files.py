"""Atomic file writes (JSON, CSV, figures) for every layer: a kill mid-write never leaves half a file.

Also `project_root`, the kit's own folder (here rather than in notebook.py, which loads PyTorch).
"""

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    os.chmod(tmp, 0o644)  # mkstemp makes files private; artifacts are meant to be shared
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path, data):
    """Write `data` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path):
    """Load a JSON file."""
    return json.loads(Path(path).read_text())


def write_csv(path, frame, **kwargs):
    """Write a DataFrame as CSV, atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **kwargs)


def save_figure(path, figure):
    """Save a matplotlib figure as PNG, atomically."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight")


def project_root():
    """The kit's folder: the nearest parent of the working directory holding data/sample."""
    for folder in (Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[1]):
        if (folder / "data" / "sample").is_dir():
            return folder
    return Path.cwd()
