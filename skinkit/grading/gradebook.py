"""A class graded student by student: the gradebook (per-stage columns) and the single-stage verdicts table.

One broken submission never stops the batch: a refused archive makes its student "unusable"
on every stage, with the reason, and grading goes on.
"""

import math
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..confusion import MATRIX_FILENAME, RunFileError, read_confusion_matrix, read_run_config, resolve_matrix_path
from ..errors import one_line
from ..progress import progress_bar
from .archives import ArchiveLimits
from .folders import folder_files
from .stages import ReferenceStage, StageGrade, grade_files, reference_stages
from .students import folder_entries, group_students
from .verdicts import DEFAULT_TOLERANCE

VERDICTS_FILENAME = "verdicts.csv"
GRADEBOOK_FILENAME = "gradebook.csv"
VERDICT_COLUMNS = ("student", "verdict", "balanced_accuracy_difference", "worst_class", "reason",
                   "student_id", "late", "roster")


@dataclass
class StudentGrade:
    """One student's verdicts, one StageGrade per reference stage in the reference's order."""

    name: str
    student_id: str
    stages: list
    late: bool = False                          # a platform marked the submission late (_LATE)
    roster: str = ""                            # with --roster: "not on roster", "no submission" or ""
    fields: dict = field(default_factory=dict)  # the roster's columns for this student

    @property
    def passed(self):
        """How many stages passed."""
        return sum(grade.verdict == "pass" for grade in self.stages)

    @property
    def reason(self):
        """The first problem, named by its stage ("" when every stage passed)."""
        problem = next((grade for grade in self.stages if grade.verdict != "pass"), None)
        return f"{problem.stage}: {problem.verdict}: {problem.reason}" if problem else ""


def grade_student(references, student, tolerance, single_stage=False):
    """Every reference stage graded against one student; a refused submission is unusable throughout."""
    def graded(stages):
        return StudentGrade(student.name, student.student_id, stages, student.late, student.roster, student.fields)

    if not student.entries:
        return graded([StageGrade(reference.stage, "missing", "nothing handed in") for reference in references])
    with ExitStack() as stack:
        try:
            files = student.open(ArchiveLimits(), stack)
            return graded(grade_files(references, files, tolerance, single_stage))
        except (RunFileError, OSError) as exc:  # OSError: a file or temporary file the system would not give
            return graded([StageGrade(reference.stage, "unusable", one_line(exc)) for reference in references])


def grade_students(references, students, tolerance, single_stage=False):
    """Each student graded in turn, with a progress bar on a terminal."""
    bar = progress_bar(students, desc="grading", unit="student", leave=False, disable=None)
    return [grade_student(references, student, tolerance, single_stage) for student in bar]


def gradebook_columns(stages):
    """The gradebook's columns: student, per stage its verdict and difference, passed, stages, reason, id."""
    per_stage = [f"{stage}_{column}" for stage in stages for column in ("verdict", "balanced_accuracy_difference")]
    return ["student", *per_stage, "passed", "stages", "reason", "student_id", "late", "roster"]


def gradebook_row(grade):
    """One student's gradebook row."""
    row = {"student": grade.name}
    for stage in grade.stages:
        row[f"{stage.stage}_verdict"] = stage.verdict
        row[f"{stage.stage}_balanced_accuracy_difference"] = (
            stage.report.balanced_accuracy_difference if stage.report else math.nan)
    return {**row, "passed": grade.passed, "stages": len(grade.stages), "reason": grade.reason,
            **identity_cells(grade)}


def identity_cells(grade):
    """The id, lateness and roster cells of a student's row."""
    return {"student_id": grade.student_id, "late": "late" if grade.late else "", "roster": grade.roster}


def gradebook(grades, stages):
    """The gradebook table: one row per student (see gradebook_columns)."""
    return pd.DataFrame([gradebook_row(grade) for grade in grades], columns=gradebook_columns(stages))


def verdict_row(student, grade):
    """The verdicts-table row of one student's only stage (without the identity columns)."""
    report = grade.report
    if report is None:
        return dict(zip(VERDICT_COLUMNS, (student, grade.verdict, math.nan, "", grade.reason)))
    return dict(zip(VERDICT_COLUMNS, (student, grade.verdict, report.balanced_accuracy_difference,
                                      report.worst_class, report.reason)))


def verdicts_table(grades):
    """The single-stage verdicts table: one row per student (columns VERDICT_COLUMNS)."""
    rows = [{**verdict_row(grade.name, grade.stages[0]), **identity_cells(grade)} for grade in grades]
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


def single_reference(reference):
    """A single-stage reference from a matrix (DataFrame), a run folder or a CSV."""
    if isinstance(reference, pd.DataFrame):
        return ReferenceStage("reference", reference, None)
    return ReferenceStage(resolve_matrix_path(reference).parent.name, read_confusion_matrix(reference),
                          read_run_config(reference))


def grade_class(reference, folder, tolerance=DEFAULT_TOLERANCE, out=None):
    """Grade every student in a class folder against one stage; write the verdicts CSV (default folder/verdicts.csv)."""
    students = group_students(folder_entries(folder), str(folder))
    verdicts = verdicts_table(grade_students([single_reference(reference)], students, tolerance, True))
    verdicts.to_csv(Path(out) if out else Path(folder) / VERDICTS_FILENAME, index=False)
    return verdicts


def read_reference(path):
    """(reference stages, whole runs folder?) from a run folder, a CSV or a runs folder of stage folders."""
    path = Path(path)
    if not path.is_dir() or (path / MATRIX_FILENAME).exists():
        return [single_reference(path)], False
    with ExitStack() as stack:
        return reference_stages(folder_files(path, ArchiveLimits(), stack)), True
