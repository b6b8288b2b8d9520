"""What `grade` writes: the kit's gradebook or verdicts CSV, or a platform's import file, and the feedback.

Every output place is made (folders created, files checked) before any student is graded, so a
wrong --out costs nothing; a class of a thousand is not graded twice.
"""

import os
import sys
from pathlib import Path

from ..errors import one_line
from .errors import OutputError
from .feedback import write_feedback
from .gradebook import GRADEBOOK_FILENAME, VERDICTS_FILENAME, gradebook, verdicts_table
from .platforms import canvas_table, moodle_table, write_feedback_zip
from .spreadsheet import write_csv
from .students import NO_SUBMISSION, NOT_ON_ROSTER

FORMATS = ("kit", "canvas", "moodle")
PLATFORM_FILENAMES = {"canvas": "canvas_gradebook.csv", "moodle": "moodle_grading_worksheet.csv"}
PLATFORM_TITLES = {"canvas": "Canvas gradebook", "moodle": "Moodle grading worksheet"}
NAMES_SHOWN = 5  # names listed in a warning line before "and N more"


def default_out(folder, whole_runs, file_format):
    """The output CSV of a class when --out is not given: in the class folder, or beside its zip."""
    if file_format in PLATFORM_FILENAMES:
        return Path(folder) / PLATFORM_FILENAMES[file_format]
    return Path(folder) / (GRADEBOOK_FILENAME if whole_runs else VERDICTS_FILENAME)


def ready_folder(folder, option):
    """Create `folder` (and its parents); OutputError naming the option when that is not possible."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot be created for {option} ({exc.strerror or exc}); "
                          "choose a folder you may write to") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: not writable, given for {option}; choose a folder you may write to")


def ready_file(path, option):
    """Create the folder a file goes into; OutputError when the path is a folder or cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: a folder, given for {option}; give a file name, e.g. {path / 'gradebook.csv'}")
    ready_folder(path.parent, option)
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{path}: not writable, given for {option}; choose another file")


def ready_outputs(args, out=None):
    """Check every output place before grading: --out (or the default `out`), --feedback, --feedback-zip."""
    if out or args.out:
        ready_file(out or args.out, "--out")
    if args.feedback:
        ready_folder(args.feedback, "--feedback")
    if args.feedback_zip:
        ready_file(args.feedback_zip, "--feedback-zip")


def output_table(grades, stages, whole_runs, args):
    """(table, what it is called) for --format: the kit's gradebook or verdicts, or a platform's file."""
    if args.format == "canvas":
        return canvas_table(grades, args.assignment, args.points), PLATFORM_TITLES["canvas"]
    if args.format == "moodle":
        return moodle_table(grades, args.points), PLATFORM_TITLES["moodle"]
    if whole_runs:
        return gradebook(grades, stages), "gradebook"
    return verdicts_table(grades), "verdicts"


def write_outputs(grades, stages, whole_runs, out, args):
    """Write the CSV (when `out`), the feedback files and the feedback zip; False when one cannot be written."""
    if out:
        table, what = output_table(grades, stages, whole_runs, args)
        if not written(lambda: write_csv(table, out), out, what):
            return False
    if args.feedback and not written(lambda: write_feedback(grades, args.feedback, args.tolerance), args.feedback,
                                     "feedback files"):
        return False
    if args.feedback_zip:
        return written(lambda: write_feedback_zip(grades, args.feedback_zip, args.tolerance), args.feedback_zip,
                       "Moodle feedback zip")
    return True


def written(write, target, what):
    """Call `write()`; print where `what` went, or one line on stderr and False when it cannot be written."""
    try:
        write()
    except OSError as exc:
        print(f"grade: cannot write the {what} to {target} ({exc.strerror or one_line(exc)}); "
              "choose another place", file=sys.stderr)
        return False
    print(f"{what[0].upper()}{what[1:]} written to {target}")
    return True


def listed(names):
    """Names for a warning line: the first few, then how many more."""
    shown = ", ".join(names[:NAMES_SHOWN])
    return shown + (f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else "")


def warnings(grades, args):
    """One-line warnings (printed to stderr) about the roster and students a platform file leaves out."""
    lines = []
    strangers = [grade.name for grade in grades if grade.roster == NOT_ON_ROSTER]
    absent = [grade.name for grade in grades if grade.roster == NO_SUBMISSION]
    if strangers:
        lines.append(f"{len(strangers)} submissions not on the roster (graded under their file names; "
                     f"'roster' column): {listed(strangers)}")
    if absent:
        lines.append(f"{len(absent)} roster students handed in nothing (every stage missing): {listed(absent)}")
    nameless = [grade.name for grade in grades if not grade.student_id]
    if args.format in PLATFORM_TITLES and nameless:
        lines.append(f"{len(nameless)} students have no id in their file names and are left out of the "
                     f"{PLATFORM_TITLES[args.format]}: {listed(nameless)}")
    for line in lines:
        print(f"grade: warning: {line}", file=sys.stderr)
    return lines
