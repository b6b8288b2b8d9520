"""The `skinkit grade` command: one submission, one student's runs folder, or a whole class.

Exit codes: 0 pass, 1 fail (or a missing stage), 2 unusable input (one line on stderr,
`grade: what went wrong; what to do`). A class (a folder of student folders or zips, or a
platform's zip) exits 0 once every student has a row: a student's name or archive refuses at
most that student. It exits 2 when the reference, the roster or the class archive itself is
unusable, or an output place cannot be made; output places are checked before grading.
"""

import argparse
import math
import sys
from contextlib import ExitStack
from pathlib import Path

from ..confusion import MATRIX_FILENAME, RunFileError, resolve_matrix_path
from ..errors import one_line
from .archives import ArchiveLimits, open_zip
from .errors import GradingInputError, OutputError
from .folders import folder_files
from .gradebook import StudentGrade, grade_students, read_reference
from .outputs import FORMATS, default_out, ready_outputs, warnings, write_outputs
from .platforms import DEFAULT_ASSIGNMENT
from .stages import StageGrade, grade_files
from .students import archive_entries, folder_entries, group_students, is_class_folder, read_roster
from .verdicts import DEFAULT_TOLERANCE, format_table, grade_submission, verdict_line

EXIT_PASS, EXIT_FAIL, EXIT_UNUSABLE = 0, 1, 2
EXIT_BY_VERDICT = {"pass": EXIT_PASS, "fail": EXIT_FAIL, "missing": EXIT_FAIL, "unusable": EXIT_UNUSABLE}
ADVICE = {
    "reference": "give --reference a run folder, its confusion_matrix.csv, or a runs/ folder of stage folders",
    "submission": "give --submission a run folder or CSV, a student's runs/ folder, a class folder, or the "
                  "platform's zip of all submissions",
    "roster": "give --roster a CSV with an id and a name column (the platform's gradebook export or grading "
              "worksheet)",
}


def tolerance_argument(text):
    """argparse type for --tolerance: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def points_argument(text):
    """argparse type for --points: a finite number > 0."""
    value = tolerance_argument(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def add_arguments(parser):
    """Add the grade command's arguments to an argparse parser."""
    parser.add_argument("--reference", required=True, metavar="REF",
                        help="reference run folder or its confusion_matrix.csv, or a runs/ folder of stage folders")
    parser.add_argument("--submission", required=True, metavar="SUB",
                        help="a run folder or CSV, a student's runs/ folder, a folder of student folders "
                             "or zips, or a learning platform's zip of all submissions")
    parser.add_argument("--tolerance", type=tolerance_argument, default=DEFAULT_TOLERANCE,
                        help=f"largest allowed absolute recall difference (default {DEFAULT_TOLERANCE})")
    parser.add_argument("--out", metavar="CSV", default=None,
                        help="the CSV to write (its folder is created); class default: in SUB, or beside a zip")
    parser.add_argument("--format", choices=FORMATS, default="kit",
                        help="kit: the kit's gradebook or verdicts (default); canvas: Canvas's gradebook import; "
                             "moodle: Moodle's assignment grading worksheet")
    parser.add_argument("--assignment", default=DEFAULT_ASSIGNMENT, metavar="NAME",
                        help=f"the assignment's column in the Canvas file (default {DEFAULT_ASSIGNMENT!r}; use the "
                             "column name of Canvas's export, e.g. 'Runs (12345)', to fill an existing one)")
    parser.add_argument("--points", type=points_argument, default=None,
                        help="the score of a student who passed every stage (canvas, moodle; default: the "
                             "number of stages)")
    parser.add_argument("--roster", metavar="CSV", help="class list with an id and a name column (maps ids in "
                                                        "file names to names)")
    parser.add_argument("--feedback", metavar="DIR", help="write one Markdown feedback file per student here")
    parser.add_argument("--feedback-zip", metavar="ZIP",
                        help="write the feedback files as a zip for Moodle's 'upload multiple feedback files in a zip'")
    return parser


def run(args):
    """Grade from parsed arguments; return the exit code."""
    readable_output()
    try:
        ready_outputs(args)
    except OutputError as exc:
        return stop(exc)
    try:
        references, whole_runs = read_reference(args.reference)
    except RunFileError as exc:
        return unusable("reference", exc)
    try:
        roster = read_roster(args.roster) if args.roster else None
    except RunFileError as exc:
        return unusable("roster", exc)
    kind = submission_kind(args.submission, [reference.stage for reference in references])
    if kind in ("class folder", "class archive"):
        return run_class(references, whole_runs, roster, args)
    if kind == "runs folder" or whole_runs:
        return run_one_student(references, whole_runs, args)
    return run_single(references[0], args)


def readable_output():
    """Let a name the terminal cannot show print escaped instead of stopping the command."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def stop(exc):
    """Print an expected error as `grade: ...`; return the exit code for unusable input."""
    print(f"grade: {one_line(exc)}", file=sys.stderr)
    return EXIT_UNUSABLE


def unusable(role, exc):
    """Print the one-line error for an unusable input, with what to do; return its exit code."""
    print(f"grade: {one_line(exc)}; {ADVICE[role]}", file=sys.stderr)
    return EXIT_UNUSABLE


def submission_kind(path, stages):
    """"class archive", "class folder", "runs folder" (a subfolder named after a stage) or "run"."""
    path = Path(path)
    if path.is_file() and path.name.lower().endswith(".zip"):
        return "class archive"
    if not path.is_dir() or (path / MATRIX_FILENAME).exists():
        return "run"
    if any((path / stage).is_dir() for stage in stages):
        return "runs folder"
    return "class folder" if is_class_folder(path) else "run"


def check_not_empty_folder(path):
    """GradingInputError for a folder holding neither a confusion_matrix.csv nor student folders."""
    path = Path(path)
    if path.is_dir() and not (path / MATRIX_FILENAME).exists() and not is_class_folder(path):
        raise GradingInputError(
            f"{path}: no {MATRIX_FILENAME} and no student folders found (give a run folder, a runs/ folder, "
            f"or a class folder with a subfolder or zip per student)")


def run_single(reference, args):
    """One run folder or CSV against a one-stage reference: the table and the verdict."""
    try:
        check_not_empty_folder(args.submission)
        report = grade_submission(reference.matrix, args.submission, args.tolerance, reference.config)
    except RunFileError as exc:
        return unusable("submission", exc)
    print(f"Reference:  {resolve_matrix_path(args.reference)}")
    print(f"Submission: {resolve_matrix_path(args.submission)}")
    print(f"Tolerance:  {args.tolerance:g} (absolute difference in recall)\n")
    print(format_table(report.table))
    print(verdict_line(report))
    stage = StageGrade(reference.stage, "pass" if report.passed else "fail", report.reason, report)
    grade = StudentGrade(resolve_matrix_path(args.submission).parent.name, "", [stage])
    if not write_outputs([grade], [reference.stage], False, args.out, args):
        return EXIT_UNUSABLE
    return EXIT_PASS if report.passed else EXIT_FAIL


def run_one_student(references, whole_runs, args):
    """One student's runs/ folder (or run folder) against every reference stage."""
    if not Path(args.submission).is_dir():
        return unusable("submission", GradingInputError(
            f"{args.submission}: not a folder; against a runs/ reference, give the student's runs/ folder"))
    with ExitStack() as stack:
        try:
            check_not_empty_folder(args.submission)
            files = folder_files(args.submission, ArchiveLimits(), stack)
        except RunFileError as exc:
            return unusable("submission", exc)
        student = Path(args.submission).resolve()
        name = student.parent.name if student.name == "runs" else student.name  # alice/runs -> alice
        grade = StudentGrade(name, "", grade_files(references, files, args.tolerance, not whole_runs))
    print(f"Reference:  {args.reference}\nSubmission: {args.submission}")
    print(f"Tolerance:  {args.tolerance:g} (absolute difference in recall)")
    for stage in grade.stages:
        print(f"\n== {stage.stage} ==")
        if stage.report is not None:
            print(format_table(stage.report.table))
        print(f"{stage.verdict.upper()}: {stage.reason}")
    print(f"\n{grade.passed} of {len(grade.stages)} stages passed")
    if not write_outputs([grade], [r.stage for r in references], whole_runs, args.out, args):
        return EXIT_UNUSABLE
    return max(EXIT_BY_VERDICT[stage.verdict] for stage in grade.stages)


def class_students(submission, stages, roster, stack):
    """(students, default output folder) of a class folder or a class archive (kept open by `stack`)."""
    submission = Path(submission)  # messages name files from the class folder or archive on
    if submission.is_dir():
        return group_students(folder_entries(submission), submission.name, roster), submission
    archive = stack.enter_context(open_zip(submission, str(submission)))
    entries = archive_entries(archive, submission.name, stages)
    return group_students(entries, submission.name, roster), submission.parent


def run_class(references, whole_runs, roster, args):
    """Every student of a class against every reference stage: lines, the CSV and feedback files."""
    stages = [reference.stage for reference in references]
    with ExitStack() as stack:
        try:
            students, out_folder = class_students(args.submission, stages, roster, stack)
        except RunFileError as exc:
            return unusable("submission", exc)
        out = args.out or default_out(out_folder, whole_runs, args.format)
        try:
            ready_outputs(args, out)
        except OutputError as exc:
            return stop(exc)
        grades = grade_students(references, students, args.tolerance, single_stage=not whole_runs)
    for grade in grades:
        print(student_line(grade) if not whole_runs else gradebook_line(grade))
    print(class_summary(grades, len(references), whole_runs))
    warnings(grades, args)
    return EXIT_PASS if write_outputs(grades, stages, whole_runs, out, args) else EXIT_UNUSABLE


def shown_name(grade):
    """A student's name as printed: with "(late)" when the platform marked the submission late."""
    return f"{grade.name} (late)" if grade.late else grade.name


def student_line(grade):
    """One printed line for a student's verdict against a one-stage reference."""
    stage = grade.stages[0]
    if stage.report is None:
        return f"{shown_name(grade)}: {stage.verdict.upper()}: {stage.reason}"
    report = stage.report
    worst = f"worst class {report.worst_class}" if report.worst_class else "no class differs"
    summary = f"balanced accuracy difference {report.balanced_accuracy_difference:+.4f}, {worst}"
    if stage.verdict == "pass":
        return f"{shown_name(grade)}: PASS ({summary})"
    return f"{shown_name(grade)}: FAIL: {stage.reason} ({summary})"


def gradebook_line(grade):
    """One printed line for a student graded on several stages."""
    if all(stage.verdict == "unusable" for stage in grade.stages):
        return f"{shown_name(grade)}: UNUSABLE: {grade.stages[0].reason}"
    problem = f"; {grade.reason}" if grade.reason else ""
    return f"{shown_name(grade)}: {grade.passed}/{len(grade.stages)} stages passed{problem}"


def class_summary(grades, stages, whole_runs):
    """The closing line: how many students, and how many of each verdict."""
    verdicts = [stage.verdict for grade in grades for stage in grade.stages]
    shown = ("pass", "fail", "missing", "unusable") if whole_runs or "missing" in verdicts \
        else ("pass", "fail", "unusable")
    counts = ", ".join(f"{verdicts.count(verdict)} {verdict}" for verdict in shown)
    if whole_runs:
        return f"Graded {len(grades)} students on {stages} stages: {counts}"
    return f"Graded {len(grades)} students: {counts}"
