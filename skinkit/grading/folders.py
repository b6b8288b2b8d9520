"""Folders handed in (or a reference runs folder): their config.json and confusion_matrix.csv, zips opened.

Folders are walked without following symbolic links; a linked config.json or confusion_matrix.csv
is refused when it is read (only regular files are read). Zips inside are opened as archives.
"""

import os
from pathlib import Path

from ..confusion import read_file_bytes
from .archives import ArchiveRefused, other_archive, refuse_other_archive, zip_file_readers
from .stages import READ_NAMES, SubmittedFiles, hidden


def folder_readers(folder, limits, stack):
    """Readers of the needed files below `folder` by relative path; zips are listed under "<name>.zip/"."""
    readers = {}
    for root, folders, names in os.walk(folder):  # linked folders are listed, never entered
        folders[:] = sorted(name for name in folders if not hidden(name))
        for name in sorted(names):
            path = Path(root, name)
            relative = path.relative_to(folder).as_posix()
            if hidden(name):
                continue
            if name in READ_NAMES:
                readers[relative] = file_reader(path)
            elif other_archive(name) and Path(root) == Path(folder):  # what a student's folder holds
                refuse_other_archive(str(path))
            elif name.lower().endswith(".zip"):
                readers.update(uploaded_zip_readers(path, relative, limits, stack))
    return readers


def file_reader(path):
    """A function that reads one needed file when called."""
    return lambda: read_file_bytes(path)


def uploaded_zip_readers(path, relative, limits, stack):
    """The readers of a zip file found in a folder, listed under "<relative>/"."""
    if path.is_symlink():
        raise ArchiveRefused(f"{path}: a symbolic link, not a regular file (refused)")
    nested = zip_file_readers(path, str(path), limits, stack)
    return {f"{relative}/{inner}": reader for inner, reader in nested.items()}


def folder_files(folder, limits, stack):
    """A folder handed in (or a reference) as SubmittedFiles."""
    folder = Path(folder)
    return SubmittedFiles(str(folder), folder.name, folder_readers(folder, limits, stack))
