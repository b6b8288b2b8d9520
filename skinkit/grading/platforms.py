"""The files a learning platform imports: Canvas's gradebook CSV, Moodle's grading worksheet and feedback zip.

Canvas (Grades -> Import) matches rows by `ID` (or the SIS columns) and takes one numeric column
per assignment, named like the assignment's column in its export ("Runs (12345)"); an unknown
name makes a new assignment. Moodle's assignment ("Upload grading worksheet") matches rows by
`Identifier` = "Participant N", N the number in the download's folder names, and takes `Grade`
and `Feedback comments`. Its "Upload multiple feedback files in a zip" matches a member by the
folder name `<name>_<N>_assignfeedback_file_/`: the text before the first `_` is ignored, so
underscores are taken out of the name.
"""

import re
import zipfile

import pandas as pd

from .feedback import MAX_NAME_CHARACTERS, feedback_markdown

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("Identifier", "Full name", "Email address", "Grade", "Maximum Grade", "Feedback comments")
DEFAULT_ASSIGNMENT = "skinkit runs"
MOODLE_FEEDBACK_FOLDER = "{name}_{id}_assignfeedback_file_"
FEEDBACK_MEMBER = "feedback.md"


def score(grade, points):
    """The stages passed, scaled to `points` (None: the number of stages), to two decimals."""
    stages = len(grade.stages)
    return round(grade.passed * (stages if points is None else points) / stages, 2)


def maximum(grades, points):
    """The most a student can score: `points`, or the number of stages."""
    return points if points is not None else len(grades[0].stages) if grades else 0


def canvas_table(grades, assignment=DEFAULT_ASSIGNMENT, points=None):
    """Canvas's gradebook import: the student columns, then the assignment's score (students with an id)."""
    rows = [{"Student": grade.name, "ID": grade.student_id,
             "SIS User ID": grade.fields.get("sis_user_id", ""), "SIS Login ID": grade.fields.get("sis_login_id", ""),
             "Section": grade.fields.get("section", ""), assignment: score(grade, points)}
            for grade in grades if grade.student_id]
    return pd.DataFrame(rows, columns=[*CANVAS_COLUMNS, assignment])


def feedback_comment(grade):
    """One line for Moodle's feedback comments: stages passed and the first problem."""
    late = " (handed in late)" if grade.late else ""
    problem = f"; {grade.reason}" if grade.reason else ""
    return f"{grade.passed} of {len(grade.stages)} stages passed{late}{problem}"


def moodle_table(grades, points=None):
    """Moodle's assignment grading worksheet, one row per student with a participant number."""
    rows = [{"Identifier": f"Participant {grade.student_id}", "Full name": grade.name,
             "Email address": grade.fields.get("email", ""), "Grade": score(grade, points),
             "Maximum Grade": maximum(grades, points), "Feedback comments": feedback_comment(grade)}
            for grade in grades if grade.student_id]
    return pd.DataFrame(rows, columns=list(MOODLE_COLUMNS))


def moodle_folder(grade):
    """The folder of a student's feedback in Moodle's feedback zip (no `_` or `/` in the name part)."""
    name = re.sub(r"[\x00-\x1f_/\\:*?\"<>|]+", "-", grade.name).strip(" -.")[:MAX_NAME_CHARACTERS] or "student"
    return MOODLE_FEEDBACK_FOLDER.format(name=name, id=grade.student_id)


def write_feedback_zip(grades, path, tolerance):
    """Moodle's feedback zip: each student's feedback.md in their folder; returns how many were written."""
    written = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for grade in grades:
            if grade.student_id:
                text = feedback_markdown(grade, tolerance) + "\n"
                archive.writestr(f"{moodle_folder(grade)}/{FEEDBACK_MEMBER}", text)
                written += 1
    return written
