"""Reading a run's confusion_matrix.csv and its config.json, validated, from a file or from bytes.

A matrix is 7x7 non-negative integer counts, rows = true class, columns = predicted class, under a
header of class labels in the kit's order (as every training run writes it). It is the one reader
of that file in the kit: training reads its own run folders through it, grading a student's.
"""

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .classes import CLASS_CODES, NUM_CLASSES
from .errors import KitError, one_line

MATRIX_FILENAME = "confusion_matrix.csv"
CONFIG_FILENAME = "config.json"
MAX_FILE_BYTES = 1 << 20  # a matrix is under 1 KB and a config.json a few KB
ERROR_TEXT_LIMIT = 200    # characters of a parser's own message quoted in ours
# A matrix is a header and NUM_CLASSES rows of NUM_CLASSES + 1 fields; a file far past that is refused
# from a count of its line breaks and commas, before a parser builds a table of it.
MAX_TABLE_LINES = MAX_LINE_FIELDS = 4 * (NUM_CLASSES + 1)


class RunFileError(KitError, ValueError):
    """A run's confusion matrix or config.json that cannot be used; the message names the file."""

    title = "Unusable run file"


def resolve_matrix_path(path):
    """The confusion_matrix.csv inside a run folder, or the path itself when it is not a folder."""
    path = Path(path)
    return path / MATRIX_FILENAME if path.is_dir() else path


def read_file_bytes(path):
    """The bytes of a regular file of at most MAX_FILE_BYTES; RunFileError naming it otherwise."""
    path = Path(path)
    if path.is_symlink():
        raise RunFileError(f"{path}: a symbolic link, not a regular file; hand in the file itself")
    if not path.exists():
        raise RunFileError(f"{path}: missing file")
    if not path.is_file():
        raise RunFileError(f"{path}: not a regular file")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise RunFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise RunFileError(f"{path}: larger than {MAX_FILE_BYTES} bytes, too large for this file")
    return data


def read_confusion_matrix(path):
    """Read and validate a 7x7 count matrix (file or run folder); raise RunFileError if unusable."""
    csv_path = resolve_matrix_path(path)
    return confusion_matrix_from_bytes(read_file_bytes(csv_path), csv_path)


def confusion_matrix_from_bytes(data, name):
    """Validate the bytes of a confusion_matrix.csv into labelled integer counts; `name` is shown in errors."""
    check_text_shape(data, name)
    raw = parse_csv(data, name)
    check_shape(raw, name)
    check_labels(raw, name)
    return check_counts(raw, name)


def check_text_shape(data, name):
    """RunFileError for a file of far more lines or comma-separated fields than a matrix, counted, not parsed."""
    lines = max(data.count(b"\n"), data.count(b"\r")) + 1
    if lines > MAX_TABLE_LINES:
        raise RunFileError(f"{name}: wrong shape: expected {NUM_CLASSES}x{NUM_CLASSES} counts under a header of "
                           f"class labels, read {lines} lines")
    fields = max(line.count(b",") for line in data.splitlines() or [b""]) + 1
    if fields > MAX_LINE_FIELDS:
        raise RunFileError(f"{name}: wrong shape: expected {NUM_CLASSES}x{NUM_CLASSES} counts under a header of "
                           f"class labels, read a line of {fields} comma-separated fields")


def parse_csv(data, name):
    """The CSV as a table of strings (first column as index); RunFileError when it is not one."""
    try:
        return pd.read_csv(io.BytesIO(data), index_col=0, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise RunFileError(f"{name}: not a CSV file (it is empty)") from None
    except UnicodeDecodeError:
        raise RunFileError(f"{name}: not a CSV file (not UTF-8 text)") from None
    except (ValueError, csv.Error) as exc:  # pandas' ParserError is a ValueError
        raise RunFileError(
            f"{name}: not a readable CSV file ({one_line(exc, ERROR_TEXT_LIMIT)})") from None


def check_shape(raw, name):
    """RunFileError unless the table is NUM_CLASSES x NUM_CLASSES under its labels."""
    if raw.shape[1] == 0:
        raise RunFileError(f"{name}: not a CSV confusion matrix (no comma-separated columns)")
    if raw.shape != (NUM_CLASSES, NUM_CLASSES):
        raise RunFileError(
            f"{name}: wrong shape: expected {NUM_CLASSES}x{NUM_CLASSES} counts "
            f"(rows = true class, columns = predicted class) under a header of class labels, "
            f"{shape_as_read(raw)}")


def shape_as_read(raw):
    """The shape as read; without class labels the header row and label column are counts too."""
    rows, columns = raw.shape
    if set(map(str, raw.columns)) & set(CLASS_CODES):
        return f"got {rows}x{columns}"
    return f"read {rows + 1} rows × {columns + 1} columns, no class labels in the header"


def check_labels(raw, name):
    """RunFileError unless rows and columns are labelled with the class codes, in order."""
    for axis, labels in (("row", raw.index), ("column", raw.columns)):
        found = [str(label)[:20] for label in labels]
        if found == list(CLASS_CODES):
            continue
        problem = "misordered" if sorted(found) == sorted(CLASS_CODES) else "wrong"
        raise RunFileError(
            f"{name}: {problem} {axis} labels {','.join(found)}; "
            f"expected {','.join(CLASS_CODES)} in this order")


def check_counts(raw, name):
    """The entries as int64 counts; RunFileError for a non-numeric, fractional or negative one."""
    entries = pd.Series(raw.to_numpy().ravel()).str.strip()
    values = pd.to_numeric(entries, errors="coerce").to_numpy(dtype=float).reshape(raw.shape)
    reject_entries(np.isnan(values), raw, name, "non-numeric or empty entry")
    not_integer = ~np.isfinite(values) | (values != np.round(values))
    reject_entries(not_integer, raw, name, "non-integer entry")
    reject_entries(values < 0, raw, name, "negative entry")
    if values.sum() == 0:
        raise RunFileError(f"{name}: every count is 0; the matrix of a run counts its validation images")
    return pd.DataFrame(values.astype(np.int64),
                        index=pd.Index(CLASS_CODES, name="true"),
                        columns=pd.Index(CLASS_CODES, name="predicted"))


def reject_entries(mask, raw, name, problem):
    """RunFileError naming the first entry where `mask` is set (nothing when none is)."""
    if not mask.any():
        return
    row, column = np.argwhere(mask)[0]
    entry = str(raw.iat[row, column])[:20]
    raise RunFileError(
        f"{name}: {problem} {entry!r} at true={CLASS_CODES[row]}, predicted={CLASS_CODES[column]}; "
        "counts must be non-negative integers")


def read_run_config(path):
    """The config.json of the run folder holding a matrix (file or run folder); None when absent."""
    config_path = resolve_matrix_path(path).parent / CONFIG_FILENAME
    if not (config_path.exists() or config_path.is_symlink()):
        return None
    return run_config_from_bytes(read_file_bytes(config_path), config_path)


def run_config_from_bytes(data, name):
    """The bytes of a config.json as a dict; RunFileError when they are not a JSON object."""
    try:
        config = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise RunFileError(
            f"{name}: not a readable JSON file ({one_line(exc, ERROR_TEXT_LIMIT)})") from None
    if not isinstance(config, dict):
        raise RunFileError(f"{name}: not a run configuration (expected a JSON object)")
    return config
