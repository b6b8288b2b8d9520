"""Stage folders in what was handed in, found by their config.json, and each graded against the reference's.

A stage folder is a folder holding config.json (or at least confusion_matrix.csv); its stage is
the folder's name, as the kit writes them: runs/large_finetune/. Hidden folders and __MACOSX
(macOS zip clutter) are skipped.
"""

import posixpath
from dataclasses import dataclass

from ..confusion import (
    CONFIG_FILENAME,
    MATRIX_FILENAME,
    RunFileError,
    confusion_matrix_from_bytes,
    run_config_from_bytes,
)
from ..errors import one_line
from .errors import GradingInputError
from .verdicts import grade_matrix

READ_NAMES = (MATRIX_FILENAME, CONFIG_FILENAME)  # the only files grading ever reads
VERDICTS = ("pass", "fail", "missing", "unusable")


@dataclass
class SubmittedFiles:
    """What grading may read of one submission: its config.json and confusion_matrix.csv files by path."""

    location: str  # the folder or archive, as messages name it
    name: str      # its own name: the stage of a run folder handed in by itself
    readers: dict  # "runs/large_finetune/config.json" -> function returning the file's bytes

    def shown(self, relative):
        """How messages name a file or folder inside the submission."""
        return f"{self.location}/{relative}" if relative else self.location

    def has(self, folder, filename):
        """True when `folder` (relative, "" for the top) holds `filename`."""
        return posixpath.join(folder, filename) in self.readers

    def read(self, folder, filename):
        """The bytes of `folder/filename`; GradingInputError "missing file" when it is not there."""
        relative = posixpath.join(folder, filename)
        if relative not in self.readers:
            raise GradingInputError(f"{self.shown(relative)}: missing file")
        return self.readers[relative]()


@dataclass
class ReferenceStage:
    """One stage of the reference: its name, validated matrix and config (None without config.json)."""

    stage: str
    matrix: object
    config: dict


@dataclass
class StageGrade:
    """One stage of one student: a verdict from VERDICTS, why, and the comparison when there was one."""

    stage: str
    verdict: str
    reason: str
    report: object = None


def hidden(relative):
    """True for a path with a hidden component (.ipynb_checkpoints, ._x) or inside __MACOSX."""
    return any(part.startswith(".") or part == "__MACOSX" for part in relative.split("/"))


def run_folders(files):
    """Folders holding config.json or confusion_matrix.csv, relative ("" for the top), sorted."""
    return sorted({posixpath.dirname(path) for path in files.readers if not hidden(path)})


def folder_stage(files, folder):
    """The stage a folder holds: its name (the submission's own name for the top)."""
    return posixpath.basename(folder) or files.name


def read_matrix(files, folder):
    """The validated confusion matrix of a stage folder."""
    return confusion_matrix_from_bytes(files.read(folder, MATRIX_FILENAME),
                                       files.shown(posixpath.join(folder, MATRIX_FILENAME)))


def read_config(files, folder):
    """The config.json of a stage folder as a dict; None when it has none."""
    if not files.has(folder, CONFIG_FILENAME):
        return None
    return run_config_from_bytes(files.read(folder, CONFIG_FILENAME),
                                 files.shown(posixpath.join(folder, CONFIG_FILENAME)))


def reference_stages(files):
    """The stages of a reference runs folder in the order they ran (config.json's "created").

    Copies the kit moved aside (large_finetune-<date>, whose config names another stage) are skipped.
    """
    stages = []
    for folder in run_folders(files):
        config = read_config(files, folder)
        stage = folder_stage(files, folder)
        if config is not None and config.get("stage", stage) == stage:
            stages.append(ReferenceStage(stage, read_matrix(files, folder), config))
    stages.sort(key=lambda reference: (str(reference.config.get("created", "")), reference.stage))
    names = [reference.stage for reference in stages]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise GradingInputError(f"{files.location}: several stage folders named {', '.join(repeated)}; "
                                "keep one of each in the reference")
    if not stages:
        raise GradingInputError(f"{files.location}: no {MATRIX_FILENAME} and no stage folders "
                                f"(folders holding {CONFIG_FILENAME}) found")
    return stages


def find_stage_folder(files, stage, single_stage):
    """The folder of `stage` in a submission, None when absent.

    With a single-stage reference, a submission's only folder holding a confusion_matrix.csv is
    taken whatever its name (a run folder handed in by itself).
    """
    folders = run_folders(files)
    found = [folder for folder in folders if folder_stage(files, folder) == stage]
    if not found and single_stage:
        found = [folder for folder in folders if files.has(folder, MATRIX_FILENAME)]
    if len(found) > 1:
        shown = ", ".join(files.shown(folder) for folder in found)
        raise GradingInputError(f"{len(found)} folders could be the {stage} run: {shown}; hand in one")
    return found[0] if found else None


def grade_stage(reference, files, tolerance, single_stage=False):
    """One reference stage graded against the same stage of a submission (never raises for bad input)."""
    try:
        folder = find_stage_folder(files, reference.stage, single_stage)
        if folder is None and not single_stage:
            return StageGrade(reference.stage, "missing",
                              f"no folder named {reference.stage} holding {CONFIG_FILENAME} in {files.location}")
        folder = folder or ""
        report = grade_matrix(reference.matrix, reference.config, read_matrix(files, folder),
                              read_config(files, folder), tolerance)
    except RunFileError as exc:
        return StageGrade(reference.stage, "unusable", one_line(exc))
    return StageGrade(reference.stage, "pass" if report.passed else "fail", report.reason, report)


def grade_files(references, files, tolerance, single_stage=False):
    """Every reference stage graded against one submission, in the reference's order."""
    return [grade_stage(reference, files, tolerance, single_stage) for reference in references]
